// Building plain JSON objects from names a producer chose: `__proto__` becomes an own member (as
// JSON.parse makes it), never the object's prototype.

export function setOwn(o: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
}
