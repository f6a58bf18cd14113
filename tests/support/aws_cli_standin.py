"""A stand-in for the AWS CLI, for tests/docs.rs: the getting-started pages' IAM and ECR
commands, checked the way the CLI checks them before it calls AWS, and recorded.

Knows `aws iam create-open-id-connect-provider --cli-input-json file://F`,
`aws iam create-role --role-name N --assume-role-policy-document file://F`,
`aws iam put-role-policy --role-name N --policy-name P --policy-document file://F` and
`aws ecr create-repository --repository-name N [--region R]`. Each `file://` document must be
JSON (the CLI refuses anything else); every call is appended to $AWS_STANDIN_LOG as a JSON line
{"command": [...], "options": {...}, "documents": {option: parsed JSON}}.
"""

import json
import os
import sys

KNOWN = {
    ("iam", "create-open-id-connect-provider"): ["--cli-input-json"],
    ("iam", "create-role"): ["--role-name", "--assume-role-policy-document"],
    ("iam", "put-role-policy"): ["--role-name", "--policy-name", "--policy-document"],
    ("ecr", "create-repository"): ["--repository-name"],
}


def fail(message, code=252):
    print("aws: error: %s" % message, file=sys.stderr)
    sys.exit(code)


def main(argv):
    if len(argv) < 2 or tuple(argv[:2]) not in KNOWN:
        fail("the stand-in does not know `aws %s`" % " ".join(argv))
    command, rest = argv[:2], argv[2:]
    options = {}
    while rest:
        name = rest.pop(0)
        if not name.startswith("--") or not rest:
            fail("bad argument %r" % name)
        options[name] = rest.pop(0)
    for required in KNOWN[tuple(command)]:
        if required not in options:
            fail("the following arguments are required: %s" % required)
    documents = {}
    for name, value in options.items():
        if value.startswith("file://"):
            path = value[len("file://"):]
            try:
                with open(path, encoding="utf-8") as f:
                    documents[name] = json.load(f)
            except (OSError, ValueError) as exc:
                fail("Error parsing parameter '%s': %s" % (name, exc), 255)
    with open(os.environ["AWS_STANDIN_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps({"command": command, "options": options, "documents": documents}) + "\n")
    print(json.dumps({"ok": True}))


if __name__ == "__main__":
    main(sys.argv[1:])
