#!/usr/bin/env bash
# Writes the Functions package's campaign-source.json: the commit its campaign files come from and where they are
# in that repository, so every run of the deployed job records which committed configuration it followed.
#   deploy/functions/campaign-source.sh PROJECT_ROOT CAMPAIGNS_DIR OUT_FILE
# build.sh calls it. The commit is $GITHUB_SHA when set (the workflow's commit), else `git rev-parse HEAD` in
# PROJECT_ROOT, and is written only when the campaigns directory holds exactly what that commit holds: no
# modified, staged, untracked or ignored file under it (`git status --porcelain`). Otherwise the file records
# no commit, with a note saying why (also printed): the job's runs then record only each file's SHA-256.
set -euo pipefail

root="${1:?usage: deploy/functions/campaign-source.sh PROJECT_ROOT CAMPAIGNS_DIR OUT_FILE}"
campaigns="${2:?usage: deploy/functions/campaign-source.sh PROJECT_ROOT CAMPAIGNS_DIR OUT_FILE}"
out_file="${3:?usage: deploy/functions/campaign-source.sh PROJECT_ROOT CAMPAIGNS_DIR OUT_FILE}"
campaigns="${campaigns%/}"
while [ "${campaigns#./}" != "$campaigns" ]; do campaigns="${campaigns#./}"; done

commit=""
note=""
prefix=""
if ! command -v git > /dev/null 2>&1; then
  note="git is not installed where the package was built"
elif ! prefix="$(git -C "$root" rev-parse --show-prefix 2> /dev/null)"; then
  prefix=""
  note="$root is not inside a git work tree"
elif ! head="$(git -C "$root" rev-parse --verify --quiet 'HEAD^{commit}')"; then
  note="the repository has no commit yet"
elif ! changes="$(git -C "$root" status --porcelain --untracked-files=all --ignored -- "$campaigns")"; then
  note="git status failed for $campaigns"
elif [ -n "$changes" ]; then
  count="$(printf '%s\n' "$changes" | wc -l | tr -d ' ')"
  note="$campaigns has $count uncommitted change(s) (git status --porcelain: $(printf '%s\n' "$changes" | head -n 3 | paste -sd ';' -))"
elif [ -n "${GITHUB_SHA:-}" ] && [ "$GITHUB_SHA" != "$head" ]; then
  # The files in the package are HEAD's: that is the commit to record, whatever the workflow was started for.
  echo "deploy/functions/campaign-source.sh: GITHUB_SHA $GITHUB_SHA is not the checked-out commit $head; recording $head, whose campaign files are packaged" >&2
  commit="$head"
else
  commit="${GITHUB_SHA:-$head}"
fi

node -e '
  const [file, commit, dir, note] = process.argv.slice(1);
  const value = commit ? { commit, campaignsDir: dir } : { campaignsDir: dir, note };
  require("node:fs").writeFileSync(file, JSON.stringify(value, null, 2) + "\n");
' "$out_file" "$commit" "$prefix$campaigns" "$note"

if [ -n "$commit" ]; then
  echo "campaign-source.json: the campaign files in $prefix$campaigns are those of commit $commit"
else
  echo "deploy/functions/campaign-source.sh: campaign-source.json records no commit: $note. The job's runs will record only the SHA-256 of each campaign file; build from a clean checkout to record the commit." >&2
fi
