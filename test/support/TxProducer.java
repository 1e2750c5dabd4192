/*
 * Transactional records for the tests, written by Kafka's own Java producer (kafka-clients), so that the
 * tests see real transaction markers and aborted batches without a Kafka client library in TypeScript.
 * Run by test/support/transactional-producer.ts as a single-file source program:
 *
 *   java -cp '<libs>/*' TxProducer.java <bootstrap> <topic> <partition> <plan>
 *
 * plan: comma-separated transactions, `c:<n>` committed or `a:<n>` aborted, e.g. `c:5,a:3,c:4`.
 * stdin: the record values, one per line (UTF-8), consumed in plan order; no keys.
 * stdout: one line per record, `<offset> committed|aborted`, in plan order. Exit 0 on success,
 * 1 on a Kafka error, 2 on bad arguments; details on stderr.
 */
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.serialization.StringSerializer;

public class TxProducer {
  /** How long initTransactions is retried on retriable errors (a fresh broker may still be loading its
   *  transaction coordinator). */
  private static final long INIT_DEADLINE_MS = 60_000;

  private record Tx(boolean commit, int count) {}

  public static void main(String[] args) throws Exception {
    // Only the result lines go to stdout; anything else written there (log4j2's default console
    // appender) goes to stderr.
    PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
    System.setOut(System.err);

    if (args.length != 4) {
      System.err.println("usage: java TxProducer.java <bootstrap> <topic> <partition> <plan, e.g. c:5,a:3,c:4>");
      System.exit(2);
    }
    String bootstrap = args[0];
    String topic = args[1];
    int partition;
    List<Tx> plan = new ArrayList<>();
    try {
      partition = Integer.parseInt(args[2]);
      for (String part : args[3].split(",")) {
        String[] kv = part.split(":");
        if (kv.length != 2 || !(kv[0].equals("c") || kv[0].equals("a"))) throw new IllegalArgumentException("bad plan entry " + part);
        int n = Integer.parseInt(kv[1]);
        if (n < 0) throw new IllegalArgumentException("bad plan entry " + part);
        plan.add(new Tx(kv[0].equals("c"), n));
      }
    } catch (IllegalArgumentException e) {
      System.err.println("TxProducer: " + e.getMessage());
      System.exit(2);
      return;
    }

    List<String> values = new ArrayList<>();
    try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      for (String line; (line = in.readLine()) != null; ) values.add(line);
    }
    int wanted = plan.stream().mapToInt(Tx::count).sum();
    if (values.size() != wanted) {
      System.err.println("TxProducer: the plan takes " + wanted + " values, stdin had " + values.size());
      System.exit(2);
    }

    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.CLIENT_ID_CONFIG, "logstream-test-tx");
    props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "logstream-test-tx-" + UUID.randomUUID());
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    // Bounds each initTransactions attempt (retried below) and each blocking send/commit.
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "10000");

    int status = 0;
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
      initTransactions(producer);
      int next = 0;
      for (Tx tx : plan) {
        producer.beginTransaction();
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        for (int i = 0; i < tx.count(); i++) {
          sent.add(producer.send(new ProducerRecord<>(topic, partition, null, values.get(next++))));
        }
        producer.flush();
        List<Long> offsets = new ArrayList<>();
        for (Future<RecordMetadata> f : sent) offsets.add(f.get().offset());
        if (tx.commit()) producer.commitTransaction();
        else producer.abortTransaction();
        for (long offset : offsets) out.println(offset + (tx.commit() ? " committed" : " aborted"));
      }
    } catch (Exception e) {
      e.printStackTrace(System.err);
      status = 1;
    }
    out.flush();
    System.exit(status);
  }

  /** initTransactions, retried while it fails with a retriable error (TimeoutException,
   *  COORDINATOR_LOAD_IN_PROGRESS, ...) for up to INIT_DEADLINE_MS. */
  private static void initTransactions(KafkaProducer<String, String> producer) throws InterruptedException {
    long deadline = System.currentTimeMillis() + INIT_DEADLINE_MS;
    for (;;) {
      try {
        producer.initTransactions();
        return;
      } catch (RuntimeException e) {
        if (!isRetriable(e) || System.currentTimeMillis() >= deadline) throw e;
        System.err.println("TxProducer: initTransactions: " + e + "; retrying");
        Thread.sleep(500);
      }
    }
  }

  private static boolean isRetriable(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof RetriableException) return true;
    }
    return false;
  }
}
