"""Validates OCSF events (JSON lines on stdin) against a published OCSF version, as packaged by
ocsf-json-schema: the class comes from each event's class_uid, the profiles from its
metadata.profiles. Prints one JSON line per event: {"class": name, "errors": ["path: message", ...]}.

    python validate.py 1.1.0 < events.jsonl
"""
import json
import sys

from jsonschema import Draft202012Validator
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

version = sys.argv[1]
ocsf = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=version))
validators = {}


def verdict(event):
    if not isinstance(event, dict) or not isinstance(event.get("class_uid"), int):
        return {"errors": ["class_uid: missing or not an integer"]}
    try:
        name = ocsf.lookup_class_name_from_uid(event["class_uid"])
    except Exception as e:  # an unknown class
        return {"errors": [f"class_uid: {event['class_uid']} is no class of OCSF {version} ({e})"]}
    profiles = tuple(sorted((event.get("metadata") or {}).get("profiles") or []))
    key = (name, profiles)
    if key not in validators:
        validators[key] = Draft202012Validator(ocsf.get_class_schema(name, list(profiles)))
    errors = []
    for e in validators[key].iter_errors(event):
        path = ".".join(str(p) for p in e.absolute_path) or "(event)"
        # A pattern error repeats the whole pattern (hundreds of characters for an IP address): name it.
        message = f"{e.instance!r} does not match the pattern of {e.schema.get('title') or path}" if e.validator == "pattern" else e.message
        # A failed oneOf/anyOf says little by itself: add what each branch wanted.
        if e.context:
            message += " [" + "; ".join(sorted({c.message for c in e.context}))[:500] + "]"
        errors.append(f"{path}: {message}")
    return {"class": name, "errors": sorted(errors)}


for line in sys.stdin:
    line = line.strip()
    if line:
        print(json.dumps(verdict(json.loads(line))), flush=False)
