#!/usr/bin/env bash
# Retrain on logged outcomes, and propose the result as a branch; a person merges it as the release.
#
#   DATABASE_URL=... MODEL_INDEX_URL=... scripts/retrain.sh      (from model-package/; CircleCI's
#                                                                retrain workflow runs it there)
#
# From a clean checkout of a branch: harvest the prediction log (api's tox -e harvest;
# HARVEST_SINCE=2026-11-01 limits it), stop if it holds nothing new, bump VERSION's patch number,
# retrain (tox -e dvc -- repro), gate against the published model (tox -e gate, never overridden
# here). If every step passes, push branch retrain/<version> to RETRAIN_REMOTE (default: origin),
# replacing an unmerged proposal of that name, with VERSION, dvc.lock, reports/ and the harvest,
# and the card's figures in the commit message. Nothing is deployed. When a step fails, nothing
# is pushed and the checkout is put back on its branch as it was (trained_models/ and
# data/prepared/, which git ignores, keep the failed candidate for a look).
set -euo pipefail
cd "$(dirname "$0")/.."
package={{ cookiecutter.package_name }}
remote=${RETRAIN_REMOTE:-origin}
harvested=("$package/datasets/logged/logged.csv" "$package/datasets/logged/logged.json")
unset GATE_OVERRIDE_REASON  # a proposal passes the gate on its merits

start=$(git symbolic-ref --quiet --short HEAD) || {
    echo "retrain: run it on a branch of a git checkout" >&2
    exit 1
}
[ -z "$(git status --porcelain)" ] || {
    echo "retrain: the checkout has uncommitted changes; run it from a clean one" >&2
    exit 1
}

branch=""  # retrain/<version>, once made here
restore() {
    git switch --quiet --force "$start" || true
    [ -z "$branch" ] || git branch --quiet --delete --force "$branch" || true
    git checkout --quiet -- . || true
    git clean --quiet --force -- "${harvested[@]}" || true
}

nothing_new() {  # no harvest, or the one the current model was trained on
    [ -f "${harvested[0]}" ] || return 0
    git ls-files --error-unmatch "${harvested[0]}" > /dev/null 2>&1 &&
        git diff --quiet HEAD -- "${harvested[0]}"
}

fail() {
    trap - ERR
    echo "retrain: $*; nothing pushed" >&2
    restore
    exit 1
}
trap 'fail "stopped at line $LINENO"' ERR

old=$(cat "$package/VERSION")
[[ $old =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || fail "VERSION $old is not MAJOR.MINOR.PATCH"
version="${BASH_REMATCH[1]}.${BASH_REMATCH[2]}.$((BASH_REMATCH[3] + 1))"

(cd ../api && tox -e harvest -- --if-any ${HARVEST_SINCE:+--since "$HARVEST_SINCE"}) ||
    fail "the harvest failed (above)"
if nothing_new; then
    echo "retrain: no outcome harvested that $old was not trained on; nothing to propose"
    restore
    exit 0
fi
echo "$version" > "$package/VERSION"
tox -e dvc -- repro || fail "retraining failed (above)"
tox -e gate || fail "the gate did not pass $version (the output above says why)"

# The card's figures and the gate's table, from the Markdown card the gate completed.
card=$(echo "$package"/trained_models/*_v"$version".md)
[ -f "$card" ] || fail "no model card of $version in $package/trained_models"
summary=$(sed -n '/^## Holdout metrics/,/^## Model$/p' "$card" | sed '$d')
if [ -z "$(git config user.name)" ] || [ -z "$(git config user.email)" ]; then  # a CI machine
    export GIT_AUTHOR_NAME="Scheduled retrain" GIT_AUTHOR_EMAIL="retrain@localhost"
    export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
fi
branch="retrain/$version"
git switch --quiet --force-create "$branch"
git add "$package/VERSION" dvc.lock reports "${harvested[@]}"
git commit --quiet --message "Retrain $version on logged outcomes" --message "$summary"
git push --quiet --force "$remote" "$branch" || fail "the push to $remote failed"
trap - ERR
git switch --quiet "$start"
echo "retrain: pushed $branch: review it, and merge it to release $version"
