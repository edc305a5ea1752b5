import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.apache.kafka.common.message.ApiMessageType;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.protocol.MessageUtil;
import org.apache.kafka.common.requests.AbstractRequest;
import org.apache.kafka.common.requests.AbstractResponse;

/**
 * Kafka's own answers for test/codec/messages/*-interop.test.ts, from the kafka-clients jar on the classpath.
 * Run as a single-file source program: java -cp <kafka-clients + slf4j-api> ErrorResponseInterop.java
 * It reads one query a line on stdin and writes one answer a line on stdout, in the same order:
 *
 *   error <apiKey> <version> <errorCode> <messageHex|-> <requestBodyHex>
 *       the request body parsed by AbstractRequest.parseRequest, then getErrorResponse(0, exception) where the
 *       exception is Errors.forCode(code).exception(message) (its default message for "-"); the answer is the
 *       response body as written at that version, in hex, or "null" when Kafka sends no response
 *   default <request|response> <apiKey> <version>
 *       a default-constructed message (ApiMessageType.newRequest()/newResponse()) written at that version, in hex
 *
 * A query Kafka refuses is answered "fail <reason>" and the program carries on.
 */
public class ErrorResponseInterop {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        HexFormat hex = HexFormat.of();
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) continue;
            String[] q = line.trim().split(" ");
            try {
                if (q[0].equals("error")) {
                    ApiKeys key = ApiKeys.forId(Integer.parseInt(q[1]));
                    short version = Short.parseShort(q[2]);
                    Errors error = Errors.forCode(Short.parseShort(q[3]));
                    String message = q[4].equals("-") ? null : new String(hex.parseHex(q[4]), StandardCharsets.UTF_8);
                    byte[] body = q.length > 5 ? hex.parseHex(q[5]) : new byte[0];
                    AbstractRequest request =
                        AbstractRequest.parseRequest(key, version, new ByteBufferAccessor(ByteBuffer.wrap(body))).request;
                    Throwable e = message == null ? error.exception() : error.exception(message);
                    AbstractResponse response = request.getErrorResponse(0, e);
                    out.println(response == null ? "null" : hex.formatHex(write(response.data(), version)));
                } else if (q[0].equals("default")) {
                    ApiMessageType type = ApiMessageType.fromApiKey(Short.parseShort(q[2]));
                    ApiMessage message = q[1].equals("request") ? type.newRequest() : type.newResponse();
                    out.println(hex.formatHex(write(message, Short.parseShort(q[3]))));
                } else {
                    out.println("fail unknown query " + q[0]);
                }
            } catch (Throwable t) {
                out.println("fail " + (t.getClass().getSimpleName() + ": " + t.getMessage()).replace('\n', ' '));
            }
        }
        out.flush();
    }

    static byte[] write(ApiMessage message, short version) {
        ByteBuffer buf = MessageUtil.toByteBufferAccessor(message, version).buffer();
        byte[] bytes = new byte[buf.remaining()];
        buf.get(bytes);
        return bytes;
    }
}
