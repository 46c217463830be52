#!/bin/bash
# Which git commands the engine runs fail on git's worktree race, with the git on PATH.
#
# `git worktree add` makes `.git/worktrees/<name>/` first and fills it a moment later; a removal
# deletes it. A git command that reads every worktree's admin folder at that moment fails at once.
#
#   scripts/worktree-race.sh states   each command against each state an add passes through (the
#                                     order strace shows for git 2.39: mkdir, locked, gitdir,
#                                     <worktree>/.git, HEAD, commondir, then a child process sets
#                                     HEAD), made by hand: deterministic. Prints where it fails.
#   scripts/worktree-race.sh race [s] each command in a loop for s seconds (8) while another loop
#                                     adds worktrees and removes them with `git worktree remove`:
#                                     counts failures and their messages.
#
# Runs in $TMPDIR (use a tmpfs: TMPDIR=/dev/shm). Only the commands' own repositories are touched.
set -u
mode=${1:-states}
dur=${2:-8}
top=$(mktemp -d "${TMPDIR:-/tmp}/pe-worktree-race-XXXXXX")
trap 'rm -rf "$top"' EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME=$top
export GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@a GIT_COMMITTER_NAME=a GIT_COMMITTER_EMAIL=a@a

# name|command (bash, in the repository $R; $W0 is a linked worktree on branch w0)
COMMANDS='checkout-branch|git -C "$W0" checkout -q --force t -- && git -C "$W0" checkout -q --force w0
checkout-detach|git -C "$W0" checkout -q --force --detach && git -C "$W0" checkout -q w0
checkout-B|git -C "$W0" checkout -q --force -B w0 HEAD
branch-D|git update-ref refs/heads/z HEAD && git branch -q -D z
branch-force|git branch --force -- u HEAD~1 && git branch --force -- u HEAD
worktree-list|git worktree list --porcelain
worktree-move|git worktree move "$W0" "$W0-m" && git worktree move "$W0-m" "$W0"
worktree-remove|git worktree add -q --detach ../x HEAD && git worktree remove --force ../x
worktree-add|git worktree add -q --no-checkout -- ../y u; r=$?; git worktree remove --force ../y 2> /dev/null; rm -rf ../y; exit $r
update-ref-branch|git update-ref -m why refs/heads/w0 HEAD && git update-ref refs/heads/u HEAD
update-ref-stdin|printf "create refs/heads/z HEAD\n" | git update-ref --stdin && git update-ref -d refs/heads/z
commit|git -C "$W0" commit -q --allow-empty -m x
merge|git -C "$W0" merge -q --no-ff --no-edit -m m u
reset-clean|git -C "$W0" reset -q --hard && git -C "$W0" clean -fdq
for-each-ref|git for-each-ref --count=1 --contains=HEAD && git for-each-ref refs/heads
rev-list|git rev-list --count main~1..main --
rev-list-all|git rev-list --all
status|git -C "$W0" status --porcelain=v1 -z --untracked-files=all'

repo() { # a repository at $1/repo with branches t, u and a linked worktree $1/w0 on w0
  R=$1/repo W0=$1/w0
  git init -q -b main "$R" && cd "$R" || exit 1
  git config gc.auto 0
  echo a > f && git add f && git commit -qm one && echo b > g && git add g && git commit -qm two
  git branch t && git branch u && git worktree add -q "$W0" -b w0 && git tag snap
  export R W0
}

states() {
  repo "$top/s"
  local A=$R/.git/worktrees/half H=$top/s/half null=0000000000000000000000000000000000000000
  local names=(- mkdir locked 'gitdir empty' gitdir 'worktree .git' 'HEAD empty' 'HEAD null'
    'commondir empty' 'commondir (HEAD null)' done)
  while IFS='|' read -r name cmd; do
    local fails=''
    for s in 1 2 3 4 5 6 7 8 9 10; do
      git -C "$W0" checkout -q --force w0 2> /dev/null
      for b in main w0 t u; do git update-ref "refs/heads/$b" snap; done
      git worktree remove --force "$top/s/x" 2> /dev/null; git worktree remove --force "$top/s/y" 2> /dev/null
      rm -rf "$A" "$H" "$top/s/x" "$top/s/y" && mkdir -p "$A"
      [ $s -ge 2 ] && echo initializing > "$A/locked"
      [ $s -ge 3 ] && : > "$A/gitdir"
      [ $s -ge 4 ] && echo "$H/.git" > "$A/gitdir"
      [ $s -ge 5 ] && mkdir -p "$H" && echo "gitdir: $A" > "$H/.git"
      [ $s -ge 6 ] && : > "$A/HEAD"
      [ $s -ge 7 ] && echo $null > "$A/HEAD"
      [ $s -ge 8 ] && : > "$A/commondir"
      [ $s -ge 9 ] && echo ../.. > "$A/commondir"
      [ $s -ge 10 ] && echo 'ref: refs/heads/main' > "$A/HEAD"
      if ! out=$(cd "$R" && bash -c "$cmd" 2>&1 > /dev/null); then
        fails="$fails [${names[$s]}] $(echo "$out" | grep -E 'fatal|error' | head -1 | sed "s#$top#<tmp>#g");"
      fi
    done
    printf '%-18s %s\n' "$name" "${fails:- never fails}"
  done <<< "$COMMANDS"
}

race() {
  while IFS='|' read -r name cmd; do
    local base=$top/$name
    mkdir -p "$base" && repo "$base"
    (
      i=0
      while [ ! -e "$base/stop" ]; do
        i=$((i + 1))
        git -C "$R" worktree add --quiet --no-checkout --detach -- "$base/a$i" HEAD 2>> "$base/a.err"
        git -C "$R" worktree remove --force --force "$base/a$i" 2>> "$base/a.err"
      done
      echo $i > "$base/a.count"
    ) &
    (sleep "$dur" && touch "$base/stop") &
    local n=0 f=0
    while [ ! -e "$base/stop" ]; do
      n=$((n + 1))
      if ! out=$(cd "$R" && bash -c "$cmd" 2>&1 > /dev/null); then
        f=$((f + 1))
        echo "$out" >> "$base/b.err"
        # back to the start (a move or add half done by the failure)
        [ -d "$W0-m" ] && git worktree move "$W0-m" "$W0" 2> /dev/null
      fi
    done
    wait
    local msg
    msg=$(grep -hE 'fatal|error' "$base/b.err" 2> /dev/null | sed -E "s#$base#<tmp>#g; s#/a[0-9]+#/<wt>#g" |
      sort | uniq -c | sort -rn | head -3 | tr -s ' ' | tr '\n' ';')
    printf '%-18s %4d failed of %5d (adds and removals: %s) %s\n' "$name" "$f" "$n" \
      "$(cat "$base/a.count")" "$msg"
  done <<< "$COMMANDS"
}

echo "$(git --version), $mode"
"$mode"
