#!/usr/bin/env bash
# Retrain on logged outcomes, and propose the result as a branch; a person merges it as the release.
#
#   DATABASE_URL=... MODEL_INDEX_URL=... scripts/retrain.sh      (CircleCI's retrain workflow)
#
# From a clean checkout: harvest the prediction log (api's tox -e harvest; HARVEST_SINCE=2026-11-01
# limits it), bump VERSION's patch number, retrain (tox -e dvc -- repro), gate against the
# published model (tox -e gate). If every step passes, push branch retrain/<version> to
# RETRAIN_REMOTE (default: origin) with VERSION, dvc.lock, reports/ and the harvest, and the
# card's figures in the commit message. Nothing is deployed; when a step fails, nothing is pushed.
set -euo pipefail
cd "$(dirname "$0")/.."
package={{ cookiecutter.package_name }}
remote=${RETRAIN_REMOTE:-origin}

fail() {
    echo "retrain: $*; nothing pushed" >&2
    exit 1
}

[ -z "$(git status --porcelain)" ] || fail "the checkout has uncommitted changes"
old=$(cat "$package/VERSION")
[[ $old =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || fail "VERSION $old is not MAJOR.MINOR.PATCH"
version="${BASH_REMATCH[1]}.${BASH_REMATCH[2]}.$((BASH_REMATCH[3] + 1))"

(cd ../api && tox -e harvest -- ${HARVEST_SINCE:+--since "$HARVEST_SINCE"}) ||
    fail "the harvest failed (above)"
echo "$version" > "$package/VERSION"
tox -e dvc -- repro || fail "retraining failed (above)"
tox -e gate || fail "the gate held $version back (the table above says why)"

# The card's figures and the gate's table, from the Markdown card the gate completed.
card=$(ls "$package"/trained_models/*"$version".md)
summary=$(sed -n '/^## Holdout metrics/,/^## Model$/p' "$card" | sed '$d')
branch="retrain/$version"
if [ -z "$(git config user.name)" ] || [ -z "$(git config user.email)" ]; then  # a CI machine
    export GIT_AUTHOR_NAME="Scheduled retrain" GIT_AUTHOR_EMAIL="retrain@localhost"
    export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
fi
git switch --create "$branch"
git add "$package/VERSION" dvc.lock reports "$package"/datasets/logged.{csv,json}
git commit --quiet --message "Retrain $version on logged outcomes" --message "$summary"
git push "$remote" "$branch" || fail "the push to $remote failed"
echo "retrain: pushed $branch: review it, and merge it to release $version"
