import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.protocol.Errors;

/**
 * Prints Kafka's error table from the kafka-clients jar it runs against, one error per line, tab-separated:
 * code, name, retriable (the exception extends RetriableException), exception class (simple name), default
 * message. Run by codec/generator/main.ts at codegen time (`java -cp kafka-clients.jar:slf4j-api.jar
 * PrintErrors.java`); its output becomes codec/messages/generated/error-codes.ts, so users never need Java.
 */
public class PrintErrors {
    public static void main(String[] args) {
        StringBuilder out = new StringBuilder();
        for (Errors e : Errors.values()) {
            Throwable ex = e.exception();
            String message = e == Errors.NONE ? "" : e.message();
            out.append(e.code()).append('\t')
                .append(e.name()).append('\t')
                .append(ex instanceof RetriableException).append('\t')
                .append(ex == null ? "" : ex.getClass().getSimpleName()).append('\t')
                .append(message.replace('\t', ' ').replace('\n', ' ')).append('\n');
        }
        System.out.print(out);
    }
}
