"""Validate every answer before anything is written.

Each problem is reported in one sentence naming the bad value and what to type instead; the
hook exits with status 1 and cookiecutter removes the partly generated directory. Answers
arrive as JSON data, never as code, so quotes or backslashes in them cannot run anything.
"""

import json
import keyword
import re
import sys

ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")

SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
PACKAGE = re.compile(r"[a-z_][a-z0-9_]*")
# PEP 508 distribution name.
DISTRIBUTION = re.compile(r"([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])", re.IGNORECASE)
# PEP 440 public version in canonical form: it ends up in file names and exact pins.
VERSION = re.compile(
    r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*"
    r"((a|b|rc)(0|[1-9][0-9]*))?(\.post(0|[1-9][0-9]*))?(\.dev(0|[1-9][0-9]*))?"
)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
GIT_BRANCH = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
# Longer names push generated lines past the linters' 100 columns.
MAX_PACKAGE_LENGTH = 40
MAX_NAME_LENGTH = 60
ONE_LINE_FIELDS = ("project_name", "description", "author_name", "email")


def suggest_identifier(value: str) -> str:
    """A valid lowercase identifier close to `value`, for the error message."""
    ident = re.sub(r"[^a-z0-9_]+", "_", value.lower()).strip("_") or "model"
    if ident[0].isdigit() or keyword.iskeyword(ident) or ident in sys.stdlib_module_names:
        ident = f"my_{ident}"
    return ident


def too_long(field: str, value: str, limit: int) -> list[str]:
    if len(value) <= limit:
        return []
    shorter = value[:limit].rstrip("_-")
    return [
        f"ERROR: {field} ({value!r}) is longer than {limit} characters; "
        f"use a shorter name such as {shorter!r} instead."
    ]


def validate(answers: dict[str, str]) -> list[str]:
    """Every problem with the answers, one sentence each; empty when all is well."""
    problems = []
    for field in ONE_LINE_FIELDS:
        value = answers[field]
        if not value.strip():
            problems.append(f"ERROR: {field} is empty; type a value for it.")
        elif any(ord(char) < 32 for char in value):
            problems.append(
                f"ERROR: {field} ({value!r}) contains a line break or control character; "
                "type it on one line."
            )

    name = answers["project_name"]
    if name.strip() and not any(char.isalnum() for char in name):
        problems.append(
            f"ERROR: project_name ({name!r}) has no letters or digits; "
            "type a name such as 'Titanic Survival' instead."
        )

    slug = answers["project_slug"]
    if not SLUG.fullmatch(slug):
        problems.append(
            f"ERROR: project_slug ({slug!r}) must be lowercase letters, digits and single "
            f"hyphens; use {suggest_identifier(slug).replace('_', '-')!r} instead."
        )
    problems += too_long("project_slug", slug, MAX_NAME_LENGTH)

    package = answers["package_name"]
    if (
        not PACKAGE.fullmatch(package)
        or keyword.iskeyword(package)
        or package in sys.stdlib_module_names
    ):
        problems.append(
            f"ERROR: package_name ({package!r}) is not a valid, lowercase Python identifier "
            "that is free of keywords and standard-library names; "
            f"use {suggest_identifier(package)!r} instead."
        )
    else:
        problems += too_long("package_name", package, MAX_PACKAGE_LENGTH)

    distribution = answers["distribution_name"]
    if not DISTRIBUTION.fullmatch(distribution):
        problems.append(
            f"ERROR: distribution_name ({distribution!r}) is not a valid PEP 508 name; "
            f"use {suggest_identifier(distribution).replace('_', '-')!r} instead."
        )
    problems += too_long("distribution_name", distribution, MAX_NAME_LENGTH)

    version = answers["version"]
    if not VERSION.fullmatch(version):
        problems.append(
            f"ERROR: version ({version!r}) is not a canonical PEP 440 version; "
            "use a version such as '0.1.0' or '1.0.0rc1' instead."
        )

    email = answers["email"]
    if email.strip() and not EMAIL.fullmatch(email):
        problems.append(
            f"ERROR: email ({email!r}) does not look like an e-mail address; "
            "use an address such as 'you@example.com' instead."
        )

    branch = answers["default_branch"]
    if not GIT_BRANCH.fullmatch(branch) or ".." in branch or branch.endswith((".", "/", ".lock")):
        problems.append(
            f"ERROR: default_branch ({branch!r}) is not a valid git branch name; "
            "use a name such as 'main' instead."
        )
    return problems


def main() -> None:
    problems = validate(ANSWERS)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
