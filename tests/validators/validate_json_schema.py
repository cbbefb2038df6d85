"""Validate JSON documents against a JSON Schema (draft 2019-09) with `jsonschema` 4.

Usage: validate_json_schema.py SCHEMA_FILE DOCUMENT_FILE...

Formats (date-time, date) are checked too. Prints one JSON object mapping each document
file to its list of errors (empty when valid), each error as {"path", "message"}.
Exit status:
  0  every document is valid
  1  at least one document is not valid
  2  the tool could not run (a file is missing or not JSON, the schema is invalid)
"""

import json
import sys

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_TOOL_FAILED = 2


def load(path):
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return EXIT_TOOL_FAILED
    try:
        from jsonschema import Draft201909Validator
    except ImportError as error:
        print(f"validate_json_schema: jsonschema is missing ({error}); run infra/scripts/setup-test-tools.sh", file=sys.stderr)
        return EXIT_TOOL_FAILED

    try:
        schema = load(argv[0])
        Draft201909Validator.check_schema(schema)
        documents = {path: load(path) for path in argv[1:]}
    except (OSError, ValueError) as error:
        print(f"validate_json_schema: {error}", file=sys.stderr)
        return EXIT_TOOL_FAILED
    except Exception as error:  # jsonschema's SchemaError
        print(f"validate_json_schema: the schema is not valid draft 2019-09: {error}", file=sys.stderr)
        return EXIT_TOOL_FAILED

    validator = Draft201909Validator(schema, format_checker=Draft201909Validator.FORMAT_CHECKER)
    report = {}
    for path, document in documents.items():
        errors = sorted(validator.iter_errors(document), key=lambda error: list(error.absolute_path))
        report[path] = [
            {"path": "/".join(str(part) for part in error.absolute_path), "message": error.message}
            for error in errors
        ]
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return EXIT_VALID if all(not errors for errors in report.values()) else EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
