#!/usr/bin/env python3
"""Produces schema-registry records with confluent-kafka's own serializers (AvroSerializer on fastavro,
ProtobufSerializer on Google's protobuf runtime, JSONSerializer), which register the schemas in the
registry and write the wire framing themselves: nothing here shares code with logstream's decoders.

    produce.py <bootstrap> <registry-url> <topic> <case>...

Cases: avro-v1, avro-v2 (the same subject, a second version: one field added with a default; these
records also have an Avro record key, subject sec.it.LoginKey), protobuf
(messages [1] and the nested [1, 0] of test/source/decode/fixtures/event.proto, which imports
common.proto: a registered reference), json-schema. Subjects are named by record (sec.it.Login,
sec.events.LoginEvent, sec.events.LoginEvent.Geo, Alert), so the formats can share a topic. For each record produced, one JSON line on stdout:
{"case": ..., "expected": <the JSON logstream must make of it>, "key": <the key's JSON text, if any>}, in production order (one partition).
"""
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient, record_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import json_format

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "source", "decode", "fixtures")

AVRO_V1 = {
    "type": "record", "name": "Login", "namespace": "sec.it",
    "fields": [
        {"name": "user", "type": "string"},
        {"name": "src_ip", "type": ["null", "string"], "default": None},
        {"name": "outcome", "type": {"type": "enum", "name": "Outcome", "symbols": ["SUCCESS", "FAILURE", "LOCKED"]}},
        {"name": "when", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "bytes_out", "type": "long"},
    ],
}
AVRO_V2 = dict(AVRO_V1, fields=AVRO_V1["fields"] + [{"name": "tenant", "type": "string", "default": "none"}])
AVRO_KEY = {"type": "record", "name": "LoginKey", "namespace": "sec.it", "fields": [{"name": "tenant", "type": "string"}, {"name": "n", "type": "int"}]}
JSON_SCHEMA = {"$schema": "http://json-schema.org/draft-07/schema#", "title": "Alert", "type": "object",
               "properties": {"user": {"type": "string"}, "severity": {"type": "string"}, "n": {"type": "integer"}},
               "required": ["user"]}


def millis_iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def exact(n):
    n = int(n)
    return n if abs(n) <= 2**53 - 1 else str(n)


def main():
    bootstrap, registry_url, topic, *cases = sys.argv[1:]
    registry = SchemaRegistryClient({"url": registry_url})
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    ctx = SerializationContext(topic, MessageField.VALUE)
    out = []

    def send(case, value, expected, key=None, key_text=None):
        producer.produce(topic, value=value, key=key, partition=0)
        producer.flush(30)
        out.append({"case": case, "expected": expected, **({"key": key_text} if key_text is not None else {})})

    key_ser = AvroSerializer(registry, json.dumps(AVRO_KEY), conf={"auto.register.schemas": True, "subject.name.strategy": record_subject_name_strategy})
    key_ctx = SerializationContext(topic, MessageField.KEY)

    for case in cases:
        if case in ("avro-v1", "avro-v2"):
            schema = AVRO_V1 if case == "avro-v1" else AVRO_V2
            ser = AvroSerializer(registry, json.dumps(schema), conf={"auto.register.schemas": True, "subject.name.strategy": record_subject_name_strategy})
            for i, (outcome, ip) in enumerate([("FAILURE", "203.0.113.7"), ("SUCCESS", None), ("LOCKED", "198.51.100.9")]):
                when = dt.datetime(2026, 12, 4, 9, 30, i, 250000 + i, tzinfo=dt.timezone.utc)
                value = {"user": f"{case}-user{i}", "src_ip": ip, "outcome": outcome, "when": when, "bytes_out": 2**60 + i if i == 2 else 1000 * i}
                if case == "avro-v2":
                    value["tenant"] = "acme"
                expected = dict(value, when=millis_iso(when), bytes_out=exact(value["bytes_out"]))
                if case == "avro-v2":
                    # An Avro record key, as logstream's KAFKA_KEY_FORMAT makes it: its JSON text.
                    key = {"tenant": "acme", "n": i}
                    send(case, ser(value, ctx), expected, key_ser(key, key_ctx), json.dumps(key, separators=(",", ":")))
                else:
                    send(case, ser(value, ctx), expected)
        elif case == "protobuf":
            with tempfile.TemporaryDirectory() as gen:
                import grpc_tools
                wkt = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
                subprocess.check_call([sys.executable, "-m", "grpc_tools.protoc", f"-I{FIXTURES}", f"-I{wkt}", f"--python_out={gen}", "common.proto", "event.proto"])
                sys.path.insert(0, gen)
                import event_pb2
                ser_ev = ProtobufSerializer(event_pb2.LoginEvent, registry, {"use.deprecated.format": False, "subject.name.strategy": record_subject_name_strategy})
                ser_geo = ProtobufSerializer(event_pb2.LoginEvent.Geo, registry, {"use.deprecated.format": False, "subject.name.strategy": record_subject_name_strategy})
                for i in range(2):
                    ev = event_pb2.LoginEvent(user=f"pb-user{i}", outcome=event_pb2.LoginEvent.FAILURE if i else event_pb2.LoginEvent.SUCCESS,
                                              bytes_out=2**55 + i, negative=-i)
                    ev.time.FromDatetime(dt.datetime(2026, 12, 4, 10, 0, i))
                    ev.tags.extend(["vpn", f"t{i}"])
                    ev.host.name = f"db{i}"
                    expected = json_format.MessageToDict(ev, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
                    for k in ("bytes_out", "big_unsigned", "negative"):
                        expected[k] = exact(expected[k])
                    send(case, ser_ev(ev, ctx), expected)
                geo = event_pb2.LoginEvent.Geo(country="JP", lat=35.5, lon=139.75)
                send(case, ser_geo(geo, ctx), json_format.MessageToDict(geo, preserving_proto_field_name=True, always_print_fields_with_no_presence=True))
        elif case == "json-schema":
            ser = JSONSerializer(json.dumps(JSON_SCHEMA), registry, conf={"subject.name.strategy": record_subject_name_strategy})
            for i, sev in enumerate(["high", "low"]):
                doc = {"user": f"js-user{i}", "severity": sev, "n": i}
                send(case, ser(doc, ctx), doc)
        else:
            raise SystemExit(f"unknown case {case}")
    for line in out:
        print(json.dumps(line))


if __name__ == "__main__":
    main()
