"""Self-test of the Python tools in .venv/tools that the Rust tests call.

Run with that venv, from tests/validators:
    ../../.venv/tools/bin/python -m unittest -v test_tools_venv

moto is checked by infra/scripts/test.sh, which starts moto_server and
waits for a successful HTTP response before the Rust tests run.
"""

import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

import jsonschema
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

BIN = os.path.dirname(sys.executable)
CFN_LINT_TIMEOUT_SECONDS = 120

# cfn-lint exit status bits: 2 is an error, 4 a warning, 8 an informational finding.
CFN_LINT_ERROR = 2
CFN_LINT_WARNING = 4

SAM_HEADER = textwrap.dedent(
    """\
    AWSTemplateFormatVersion: "2010-09-09"
    Transform: AWS::Serverless-2016-10-31
    """
)


class JsonSchemaTest(unittest.TestCase):
    def setUp(self):
        schema = {
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "type": "object",
            "properties": {"validFrom": {"type": "string", "format": "date-time"}},
            "required": ["validFrom"],
            "unevaluatedProperties": False,
        }
        validator_class = jsonschema.validators.validator_for(schema)
        self.assertIs(validator_class, jsonschema.Draft201909Validator)
        validator_class.check_schema(schema)
        self.validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)

    def test_valid_document_passes(self):
        self.assertEqual(list(self.validator.iter_errors({"validFrom": "2026-11-02T10:00:00Z"})), [])

    def test_bad_date_time_fails(self):
        errors = list(self.validator.iter_errors({"validFrom": "yesterday"}))
        self.assertEqual([error.validator for error in errors], ["format"])

    def test_unevaluated_property_fails(self):
        errors = list(self.validator.iter_errors({"validFrom": "2026-11-02T10:00:00Z", "extra": 1}))
        self.assertEqual([error.validator for error in errors], ["unevaluatedProperties"])


class PyJwtTest(unittest.TestCase):
    def test_es256_round_trip_and_tamper(self):
        private_key = ec.generate_private_key(ec.SECP256R1())
        token = jwt.encode({"iss": "https://issuer.example.org"}, private_key, algorithm="ES256", headers={"kid": "k1"})

        claims = jwt.decode(token, private_key.public_key(), algorithms=["ES256"])
        self.assertEqual(claims["iss"], "https://issuer.example.org")
        self.assertEqual(jwt.get_unverified_header(token)["kid"], "k1")

        header, _, signature = token.split(".")
        forged_payload = jwt.utils.base64url_encode(b'{"iss":"https://attacker.example.org"}').decode()
        with self.assertRaises(jwt.InvalidSignatureError):
            jwt.decode(f"{header}.{forged_payload}.{signature}", private_key.public_key(), algorithms=["ES256"])


class CfnLintTest(unittest.TestCase):
    def lint(self, template, *options):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as file:
            file.write(SAM_HEADER + textwrap.dedent(template))
            file.flush()
            # The template comes first because -a takes every following argument.
            completed = subprocess.run(
                [os.path.join(BIN, "cfn-lint"), file.name, *options],
                capture_output=True,
                text=True,
                timeout=CFN_LINT_TIMEOUT_SECONDS,
            )
        return completed.returncode, completed.stdout + completed.stderr

    def test_clean_template_passes(self):
        code, output = self.lint(
            """\
            Resources:
              Assets:
                Type: AWS::S3::Bucket
            Outputs:
              AssetsName:
                Value: !Ref Assets
            """
        )
        self.assertEqual(code, 0, output)

    def test_missing_ref_is_error(self):
        code, output = self.lint(
            """\
            Resources:
              Assets:
                Type: AWS::S3::Bucket
            Outputs:
              AssetsName:
                Value: !Ref Missing
            """
        )
        self.assertTrue(code & CFN_LINT_ERROR, output)
        self.assertIn("E6101", output)

    def test_serverless_rules_load(self):
        code, output = self.lint(
            """\
            Resources:
              Issue:
                Type: AWS::Serverless::Function
                Properties:
                  Runtime: provided.al2023
                  Handler: bootstrap
                  CodeUri: .
            """,
            "-a",
            "cfn_lint_serverless.rules",
        )
        self.assertTrue(code & CFN_LINT_WARNING, output)
        self.assertIn("WS1000", output)
        self.assertNotIn("Traceback", output)


if __name__ == "__main__":
    unittest.main()
