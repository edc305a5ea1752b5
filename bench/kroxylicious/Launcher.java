import java.nio.file.Files;
import java.nio.file.Path;

import io.kroxylicious.proxy.KafkaProxy;
import io.kroxylicious.proxy.config.ConfigParser;
import io.kroxylicious.proxy.config.Configuration;
import io.kroxylicious.proxy.internal.config.Features;

/**
 * Starts Kroxylicious (kroxylicious-runtime) from a YAML file through its public classes, as the distribution's
 * own main class would, because the distribution jar (kroxylicious-app) is not on every Maven Central mirror.
 * Prints "KROXYLICIOUS READY" once the listeners are bound, so the benchmark knows when to connect.
 *
 *   java -cp <runtime classpath>:<dir of Launcher.class> Launcher proxy.yaml
 */
public final class Launcher {
    private Launcher() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: Launcher <config.yaml>");
            System.exit(2);
        }
        ConfigParser parser = new ConfigParser();
        Configuration configuration = parser.parseConfiguration(Files.readString(Path.of(args[0])));
        KafkaProxy proxy = new KafkaProxy(parser, configuration, Features.defaultFeatures());
        // SIGTERM from the benchmark: close the listeners so the JVM exits promptly and cleanly.
        Runtime.getRuntime().addShutdownHook(new Thread(proxy::shutdown, "kroxylicious-shutdown"));
        proxy.startup();
        System.out.println("KROXYLICIOUS READY");
        System.out.flush();
        proxy.block();
    }
}
