// kafkajs 2.2.4 schedules timers with negative delays (its request throttling arithmetic), which Node
// 24 reports as TimeoutNegativeWarning (treated as 1 ms: harmless). Drop exactly that warning from
// kafkajs so it does not look like a fault in the logs; every other warning is printed as usual.
let installed = false;

export function silenceKafkajsTimeoutWarning(): void {
  if (installed) return;
  installed = true;
  const previous = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (w: Error) => {
    if (w.name === 'TimeoutNegativeWarning' && (w.stack ?? '').includes('kafkajs')) return;
    for (const l of previous) l.call(process, w);
  });
}
