import java.util.Collection;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Node;

/**
 * Readiness check for scripts/kafka.sh: an open port is not enough, because a KRaft broker binds
 * its listener before it has caught up with the metadata log and been unfenced. This waits until
 * the broker answers a describeCluster request that lists a broker.
 *
 * Usage: java -cp "classes:libs/*" AwaitBroker HOST:PORT TIMEOUT_MS
 */
public final class AwaitBroker {
  public static void main(String[] args) throws InterruptedException {
    String bootstrap = args[0];
    long deadline = System.currentTimeMillis() + Long.parseLong(args[1]);
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(AdminClientConfig.CLIENT_ID_CONFIG, "shadowdiff-await-broker");
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2000);
    props.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, 100);
    props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 500);
    Exception last = null;
    try (Admin admin = Admin.create(props)) {
      while (System.currentTimeMillis() < deadline) {
        long left = Math.max(1, deadline - System.currentTimeMillis());
        try {
          Collection<Node> nodes = admin.describeCluster().nodes().get(left, TimeUnit.MILLISECONDS);
          if (!nodes.isEmpty()) {
            System.out.println("broker ready at " + bootstrap + ": " + nodes);
            return;
          }
        } catch (Exception e) {
          last = e;
        }
        Thread.sleep(200);
      }
    }
    System.err.println("broker at " + bootstrap + " not ready: " + last);
    System.exit(1);
  }
}
