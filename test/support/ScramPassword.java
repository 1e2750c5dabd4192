// Sets a SCRAM user's password on a broker with Kafka's own AdminClient (alterUserScramCredentials), as
// an operator rotating a credential would. Run as a single-file program with the broker's jars:
//   java -cp '<libs>/*' ScramPassword.java <bootstrap> <mechanism: SCRAM-SHA-256|SCRAM-SHA-512> <user>
// The new password is read from stdin (never an argument: it would show in the process list).
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;

public class ScramPassword {
  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: ScramPassword <bootstrap> <mechanism> <user> < password");
      System.exit(2);
    }
    String password = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
    if (password == null || password.isEmpty()) {
      System.err.println("no password on stdin");
      System.exit(2);
    }
    ScramMechanism mechanism = ScramMechanism.fromMechanismName(args[1]);
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    try (Admin admin = Admin.create(props)) {
      admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(args[2], new ScramCredentialInfo(mechanism, 4096), password))).all().get();
    }
  }
}
