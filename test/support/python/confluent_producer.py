"""A producer built on confluent-kafka-python's schema registry serializers, for the schema-validation tests.

    python confluent_producer.py <bootstrap> <registry ccompat url> <topic> <protobuf|avro> <count> [invalid_at]

The serializers use the subject <topic>-value (TopicNameStrategy): the Avro one takes its latest version (the test
registers it), the Protobuf one registers its message's file as a serialized FileDescriptorProto, as Confluent's
serializers do. Both write Confluent's framing: magic byte, schema id and, for Protobuf, the message indexes. Protobuf records are `shop.Return`, the second message of the file, so the indexes are
[1]. The record at invalid_at keeps the framing but its payload ends early (inside its first field). One line per record:
SENT <index> <hex>, then RESULT <index> OK <offset> or RESULT <index> ERR <error name>: <error text>.
"""
import sys

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.serialization import MessageField, SerializationContext

ORDER_AVRO = (
    '{"type":"record","name":"Order","namespace":"shop","fields":'
    '[{"name":"id","type":"string"},{"name":"amount","type":"int"}]}'
)


def protobuf_serializer(client):
    from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    fdp = descriptor_pb2.FileDescriptorProto(name="shipments.proto", package="shop", syntax="proto3")
    string, int32 = descriptor_pb2.FieldDescriptorProto.TYPE_STRING, descriptor_pb2.FieldDescriptorProto.TYPE_INT32
    optional = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
    shipment = fdp.message_type.add(name="Shipment")
    shipment.field.add(name="id", number=1, type=string, label=optional)
    shipment.field.add(name="weight", number=2, type=int32, label=optional)
    ret = fdp.message_type.add(name="Return")
    ret.field.add(name="reason", number=1, type=string, label=optional)
    ret.field.add(name="items", number=2, type=int32, label=optional)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    cls = message_factory.GetMessageClass(pool.FindMessageTypeByName("shop.Return"))
    conf = {"auto.register.schemas": True, "use.deprecated.format": False}
    ser = ProtobufSerializer(cls, client, conf)
    return lambda i: cls(reason="reason-%d" % i, items=i + 1), ser


def avro_serializer(client):
    from confluent_kafka.schema_registry.avro import AvroSerializer

    ser = AvroSerializer(client, ORDER_AVRO, conf={"auto.register.schemas": False, "use.latest.version": True})
    return lambda i: {"id": "py-%d" % i, "amount": i}, ser


def main():
    bootstrap, registry, topic, kind, count = sys.argv[1:6]
    invalid_at = int(sys.argv[6]) if len(sys.argv) > 6 else -1
    client = SchemaRegistryClient({"url": registry})
    make, ser = (protobuf_serializer if kind == "protobuf" else avro_serializer)(client)
    ctx = SerializationContext(topic, MessageField.VALUE)
    # One batch for all the records (the test expects a broken record to reject its whole batch): they are
    # serialized first and produced back to back, and the linger leaves room for a loaded machine.
    # Every record gets its delivery report within message.timeout.ms, answered or not, so a produce request that
    # is never answered shows as a result (and the script ends) instead of the Producer's destruction waiting out
    # the default 300 s; librdkafka's protocol log on stderr says what went where, for a failing test to print.
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 1000,
            "compression.type": "gzip",
            "retries": 0,
            "message.timeout.ms": 30000,
            "debug": "broker,protocol,msg",
        }
    )
    results = {}

    def report(index):
        def cb(err, msg):
            results[index] = ("ERR %s: %s" % (err.name(), err.str())) if err else ("OK %d" % msg.offset())

        return cb

    values = []
    for i in range(int(count)):
        value = ser(make(i), ctx)
        values.append(value[:-3] if i == invalid_at else value)
    for i, value in enumerate(values):
        print("SENT %d %s" % (i, value.hex()), flush=True)
        producer.produce(topic, value=value, partition=0, on_delivery=report(i))
    left = producer.flush(45)
    print("FLUSHED %d left" % left, flush=True)
    for i in range(int(count)):
        print("RESULT %d %s" % (i, results.get(i, "ERR NONE: no delivery report")), flush=True)


if __name__ == "__main__":
    main()
