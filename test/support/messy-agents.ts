/**
 * Misbehaving command agents, built from named pieces of shell. Each piece does what real coding
 * agents do now and then (commit the tool's own files, wander off their branch, leave a rebase
 * half done, write into the user's checkout…) and writes the ledger `test/support/invariant.ts`
 * reads: `$LEDGER/$PE_TASK_ID.jsonl`, one line per commit it made and per file it left
 * uncommitted, so the invariant can be checked from the outside.
 *
 * An agent is a list of behaviour names; `agentScript` orders them (setup, work, then the pieces
 * that leave the worktree mid-operation, then the exit) and joins them after a prelude of helpers.
 * The scripts run under `sh -c` in the task's worktree with the PE_* variables and `LEDGER` set.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type BehaviourName =
  | 'commit'
  | 'commitAll'
  | 'uncommitted'
  | 'newBranch'
  | 'detach'
  | 'halfMerge'
  | 'rebaseLeft'
  | 'resetBelowStart'
  | 'tickPlanBox'
  | 'deletePlanLine'
  | 'writeOutside'
  | 'nestedRepo'
  | 'daemon'
  | 'dots'
  | 'exitNonZero'
  | 'failFirstAttempt'
  | 'noChange'
  | 'sleep'
  | 'stash'
  | 'ownWorktree'
  | 'deleteBranch'
  | 'amendAfterPush'
  | 'oddNames'
  | 'symlinkOut'
  | 'hugeFile'
  | 'staleLock'
  | 'configIdentity'
  | 'sideRefs'
  | 'forceUserBranch'
  | 'deleteUserBranch'
  | 'gcPrune'
  | 'rewriteBranch'
  | 'mainLock'
  | 'writeOtherTask'
  | 'caseRename'
  | 'chmodOnly'
  | 'fileToLink'
  | 'fileToDir'
  | 'stashPopConflict'
  | 'orphanBranch'
  | 'cherryPickLeft'
  | 'emptyCommits'
  | 'submoduleWork'
  | 'ignoreOwn'
  | 'hideEdits'
  | 'dotGitGone'
  | 'gitNotes'
  | 'configEmail'
  | 'autocrlf'
  | 'crlfFiles'
  | 'pullRebase'
  | 'includeConfig'
  | 'eolAttributes'
  | 'lfsAttributes'
  | 'worktreeConfig'
  | 'excludeLog';

/**
 * Where a piece goes in the script: the mid-operation pieces break any commit after them, and so
 * do the `last` ones (a lock left behind), which run after them.
 */
export type Phase = 'setup' | 'work' | 'midOperation' | 'last' | 'exit';

export interface Behaviour {
  phase: Phase;
  /** What a real agent doing this looks like, for scenario descriptions. */
  description: string;
  shell: string;
}

/** The branch in the seed repository that conflicts with `notes.txt` edits (see `halfMerge`). */
export const CONFLICT_BRANCH = 'feature';
export const CONFLICT_FILE = 'notes.txt';

export const BEHAVIOURS: Record<BehaviourName, Behaviour> = {
  commit: {
    phase: 'work',
    description: 'commits a new file',
    shell: 'new_file; commit_paths "$f"',
  },
  commitAll: {
    phase: 'work',
    description: 'git add -A && git commit (the tool files too)',
    shell: 'new_file; git add -A && git commit -q --no-verify -m "task $T: all" && ledger_commit',
  },
  uncommitted: {
    phase: 'work',
    description: 'leaves a new file uncommitted',
    shell: 'new_file; ledger_file "$f"',
  },
  newBranch: {
    phase: 'work',
    description: 'switches to a new branch and commits there',
    shell: 'git checkout -q -b "side/$S-$$" && { new_file; commit_paths "$f"; }',
  },
  detach: {
    phase: 'work',
    description: 'detaches HEAD and commits',
    shell: 'git checkout -q --detach && { new_file; commit_paths "$f"; }',
  },
  halfMerge: {
    phase: 'midOperation',
    description: `commits to ${CONFLICT_FILE}, merges ${CONFLICT_BRANCH} and leaves the conflict`,
    shell: [
      `next; echo "$T's view $ID" > ${CONFLICT_FILE}; commit_paths ${CONFLICT_FILE}`,
      `git merge -q --no-edit ${CONFLICT_BRANCH} >/dev/null 2>&1`,
      `if grep -q '^<<<<<<<' ${CONFLICT_FILE}; then ledger_file ${CONFLICT_FILE}; fi`,
    ].join('\n'),
  },
  rebaseLeft: {
    phase: 'midOperation',
    description: `commits to ${CONFLICT_FILE}, rebases onto ${CONFLICT_BRANCH} and leaves it stopped`,
    shell: [
      `next; echo "$T's take $ID" > ${CONFLICT_FILE}; commit_paths ${CONFLICT_FILE}`,
      `git rebase -q ${CONFLICT_BRANCH} >/dev/null 2>&1`,
      `if grep -q '^<<<<<<<' ${CONFLICT_FILE}; then ledger_file ${CONFLICT_FILE}; fi`,
    ].join('\n'),
  },
  resetBelowStart: {
    phase: 'setup',
    description: 'resets its branch below the start commit',
    shell: 'git reset -q --hard HEAD~1',
  },
  tickPlanBox: {
    phase: 'work',
    description: 'ticks its own box in MULTI_AGENT_PLAN.md',
    shell: `sed -i "s/^- \\[ \\] Task $T:/- [x] Task $T:/" MULTI_AGENT_PLAN.md`,
  },
  deletePlanLine: {
    phase: 'work',
    description: "deletes another task's line from MULTI_AGENT_PLAN.md",
    shell: [
      `awk -v own="Task $T:" 'gone || !/^- \\[.\\] Task / || index($0, own) { print; next } { gone = 1 }' \\`,
      '  MULTI_AGENT_PLAN.md > .plan.tmp && mv .plan.tmp MULTI_AGENT_PLAN.md',
    ].join('\n'),
  },
  writeOutside: {
    phase: 'work',
    description: "writes a file into the user's checkout",
    shell: [
      'top=$(cd "$(git rev-parse --path-format=absolute --git-common-dir)/.." && pwd)',
      'echo "$T was here" > "$top/stray-$S.txt"',
    ].join('\n'),
  },
  nestedRepo: {
    phase: 'work',
    description: 'creates a nested git repository sub/ with a commit',
    shell: [
      'next; mkdir -p sub && echo "nested $ID" > sub/file.txt',
      '(cd sub && git init -q && git add file.txt && git commit -q -m nested) >/dev/null 2>&1',
      'ledger_file sub/file.txt',
    ].join('\n'),
  },
  daemon: {
    phase: 'work',
    description: 'starts a setsid sleep daemon that keeps its output open',
    shell: 'setsid sleep 20 & echo "$!" >> "$LEDGER/pids"',
  },
  dots: {
    phase: 'work',
    description: 'prints progress dots without newlines',
    shell: 'i=0; while [ $i -lt 5 ]; do printf .; sleep 0.1; i=$((i + 1)); done',
  },
  exitNonZero: {
    phase: 'exit',
    description: 'exits 3 at the end',
    shell: 'exit 3',
  },
  failFirstAttempt: {
    phase: 'exit',
    description: 'exits 4 on its first attempt only',
    shell: 'if mkdir "$LEDGER/$S.failed-once" 2>/dev/null; then exit 4; fi',
  },
  noChange: {
    phase: 'work',
    description: 'changes nothing',
    shell: ':',
  },
  sleep: {
    phase: 'work',
    description: 'sleeps 1.5 s',
    shell: 'sleep 1.5',
  },
  stash: {
    phase: 'work',
    description: 'stages a new file and stashes it (git stash push), never pops it',
    shell: [
      'new_file; ledger_file "$f"',
      'git add -- "$f" && git stash push -q -m "task $T wip" -- "$f"',
    ].join('\n'),
  },
  ownWorktree: {
    phase: 'work',
    description:
      'adds a worktree of its own (../own-…) on a new branch, commits there, leaves a file',
    shell: [
      'w="../own-$S-$$"',
      'if git worktree add -q -b "own/$S-$$" "$w" HEAD >/dev/null 2>&1; then',
      '  here=$(pwd); cd "$w" && { new_file; commit_paths "$f"; new_file; ledger_file "$f"; }; cd "$here"',
      'fi',
    ].join('\n'),
  },
  deleteBranch: {
    phase: 'work',
    description: 'detaches HEAD and deletes its task branch (git branch -D)',
    shell: 'git checkout -q --detach && git branch -q -D "$PE_BRANCH"',
  },
  amendAfterPush: {
    phase: 'work',
    description: 'commits, records it as pushed (a remote-tracking ref), then amends the commit',
    shell: [
      'new_file; commit_paths "$f"',
      'git update-ref "refs/remotes/origin/$PE_BRANCH" HEAD',
      'echo "amended" >> "$f"; git add -- "$f" && git commit -q --no-verify --amend --no-edit && ledger_commit',
    ].join('\n'),
  },
  oddNames: {
    phase: 'work',
    description: 'writes files named with spaces, a newline, unicode, glob characters and a dash',
    shell: [
      'next; mkdir -p "work/odd dir"',
      'f="work/odd dir/-$S $$ ünï “q” *[x] $N.txt"; echo "odd of $T: $ID" > "$f"; commit_paths "$f"',
      'next; f="work/odd dir/line',
      'break $S $$ $N.txt"; echo "odd of $T: $ID" > "$f"; ledger_file "$f"',
      'next; f="work/odd dir/ça $S $$ $N.txt"; echo "odd of $T: $ID" > "$f"; ledger_file "$f"',
    ].join('\n'),
  },
  symlinkOut: {
    phase: 'work',
    description: "makes symlinks to the user's checkout and to a file outside the repository",
    shell: [
      'top=$(cd "$(git rev-parse --path-format=absolute --git-common-dir)/.." && pwd)',
      'mkdir -p work; ln -s "$top" "work/checkout-$S-$$"; ledger_link "work/checkout-$S-$$"',
      'ln -s /etc/hostname "work/host-$S-$$"; ledger_link "work/host-$S-$$"',
    ].join('\n'),
  },
  hugeFile: {
    phase: 'work',
    description: 'leaves a 20 MB file uncommitted',
    shell: [
      'next; mkdir -p work; f="work/huge-$S-$$-$N.txt"',
      // Whole lines: the ledger's copy of the content (json_text) ends each line with a newline.
      'yes "huge $ID" | head -n 600000 > "$f"; ledger_file "$f"',
    ].join('\n'),
  },
  staleLock: {
    phase: 'last',
    description: 'leaves a stale index.lock (killed in the middle of a git command)',
    shell: 'touch "$(git rev-parse --path-format=absolute --git-path index.lock)"',
  },
  configIdentity: {
    phase: 'work',
    description: 'sets user.name and user.email with git config (the shared config)',
    shell: 'git config user.name "Agent $T" && git config user.email "agent@example.invalid"',
  },
  sideRefs: {
    phase: 'work',
    description:
      'commits with git commit-tree onto a new branch and a new tag it never checks out (update-ref)',
    shell: [
      'side_commit HEAD && git update-ref "refs/heads/sideref/$S-$$" "$c" && ledger_sha "$c"',
      'side_commit "$c" && git tag "tag-$S-$$" "$c" && ledger_sha "$c"',
    ].join('\n'),
  },
  forceUserBranch: {
    phase: 'work',
    description: `moves the user's ${CONFLICT_BRANCH} branch back (git branch -f ${CONFLICT_BRANCH} v0)`,
    shell: `git branch -f ${CONFLICT_BRANCH} v0 2>/dev/null || :`,
  },
  deleteUserBranch: {
    phase: 'work',
    description: `deletes the user's ${CONFLICT_BRANCH} branch (git branch -D)`,
    shell: `git branch -q -D ${CONFLICT_BRANCH} 2>/dev/null || :`,
  },
  gcPrune: {
    phase: 'work',
    description:
      'commits, resets it away, then git reflog expire --expire=now --all and git gc --prune=now',
    // The commit it prunes itself is not in the ledger: the pin (run/pin.ts) usually keeps it, but
    // one made, reset and pruned within milliseconds can be gone before any tool sees it. What the
    // prune does to the others' work (pinned as it was made) and the user's is what is checked.
    shell: [
      'new_file; git add -- "$f" && git commit -q --no-verify -m "task $T: gone"',
      'git reset -q --hard HEAD~1',
      'git reflog expire --expire=now --all && git gc -q --prune=now 2>/dev/null',
    ].join('\n'),
  },
  rewriteBranch: {
    phase: 'work',
    description:
      'commits, then rewrites that commit with git commit-tree and update-ref (a filter-branch)',
    shell: [
      'new_file; commit_paths "$f"',
      'c=$(git commit-tree "HEAD^{tree}" -p HEAD~1 -m "task $T: rewritten") &&',
      '  git update-ref -m rewrite HEAD "$c" && ledger_sha "$c"',
    ].join('\n'),
  },
  mainLock: {
    phase: 'last',
    description: "leaves a stale index.lock in the user's checkout (.git/index.lock)",
    shell: 'touch "$(git rev-parse --path-format=absolute --git-common-dir)/index.lock"',
  },
  writeOtherTask: {
    phase: 'work',
    description: "writes a file into another task's worktree",
    shell: [
      'here=$(pwd -P)',
      'for w in $(git worktree list --porcelain | sed -n "s/^worktree //p"); do',
      '  case "$w" in "$here"|*/own-*) continue;; esac',
      '  [ -f "$w/.git" ] || continue',
      '  next; mkdir -p "$w/work"; g="work/other-$S-$$-$N.txt"',
      '  echo "$T wrote into $w: $ID" > "$w/$g"',
      '  printf \'{"uncommitted":"%s","content":"%s","task":"%s","pid":%s}\\n\' "$g" "$(json_text "$w/$g")" "$T" $$ >> "$L"',
      '  break',
      'done',
    ].join('\n'),
  },
  caseRename: {
    phase: 'work',
    description: 'commits a file, then renames it by case only and edits it (uncommitted)',
    shell: [
      'new_file; commit_paths "$f"',
      'g="work/CASE-$S-$$-$N.txt"; git mv -f -- "$f" "$g" && echo "renamed $ID" >> "$g" && ledger_file "$g"',
    ].join('\n'),
  },
  chmodOnly: {
    phase: 'work',
    description: 'commits a file, then only makes it executable (chmod +x, uncommitted)',
    shell: 'new_file; commit_paths "$f"; chmod +x "$f" && ledger_mode "$f" 100755',
  },
  fileToLink: {
    phase: 'work',
    description: 'commits a file, then replaces it by a symlink to another (uncommitted)',
    shell: [
      'new_file; commit_paths "$f"; g="$f"',
      'new_file; ledger_file "$f"; rm -f "$g" && ln -s "$(basename "$f")" "$g" && ledger_link "$g"',
    ].join('\n'),
  },
  fileToDir: {
    phase: 'work',
    description: 'commits a file, then replaces it by a folder of the same name (uncommitted)',
    shell: [
      'new_file; commit_paths "$f"; g="$f"',
      'rm -f "$g" && mkdir "$g" && next && echo "inside $ID" > "$g/inner.txt" && ledger_file "$g/inner.txt"',
    ].join('\n'),
  },
  stashPopConflict: {
    phase: 'midOperation',
    description: `stashes an edit of ${CONFLICT_FILE}, commits another, git stash pop conflicts`,
    shell: [
      // In the ledger once stashed: when its own add or stash fails (a filter another agent set
      // up), the next line overwrites it, and nothing could have kept it.
      `next; echo "$T's stashed $ID" > ${CONFLICT_FILE}; cp ${CONFLICT_FILE} "$L.stashed"`,
      `if git add ${CONFLICT_FILE} && git stash push -q -m "task $T pop me" -- ${CONFLICT_FILE}; then`,
      `  ledger_as ${CONFLICT_FILE} "$L.stashed"; fi; rm -f "$L.stashed"`,
      `next; echo "$T's committed $ID" > ${CONFLICT_FILE}; commit_paths ${CONFLICT_FILE}`,
      'git stash pop -q >/dev/null 2>&1 || :',
    ].join('\n'),
  },
  orphanBranch: {
    phase: 'work',
    description: 'git checkout --orphan onto a new branch and commits there',
    shell: [
      'git checkout -q --orphan "orphan/$S-$$" && git rm -rq --cached . >/dev/null',
      'new_file; commit_paths "$f"',
    ].join('\n'),
  },
  cherryPickLeft: {
    phase: 'midOperation',
    description: `commits to ${CONFLICT_FILE}, cherry-picks ${CONFLICT_BRANCH} and leaves the conflict`,
    shell: [
      `next; echo "$T's pick $ID" > ${CONFLICT_FILE}; commit_paths ${CONFLICT_FILE}`,
      `git cherry-pick ${CONFLICT_BRANCH} >/dev/null 2>&1`,
      `if grep -q '^<<<<<<<' ${CONFLICT_FILE}; then ledger_file ${CONFLICT_FILE}; fi`,
    ].join('\n'),
  },
  emptyCommits: {
    phase: 'work',
    description: 'git commit --allow-empty, and one with an empty message',
    shell: [
      'git commit -q --no-verify --allow-empty -m "task $T: empty" && ledger_commit',
      'new_file; git add -- "$f" && git commit -q --no-verify --allow-empty-message -m "" && ledger_commit',
    ].join('\n'),
  },
  submoduleWork: {
    phase: 'work',
    description: 'adds a submodule of a local repository, commits inside it and the link',
    shell: [
      'src="$LEDGER/lib-$S-$$"; git init -q "$src" && echo lib > "$src/lib.txt"',
      '(cd "$src" && git add lib.txt && git commit -q -m lib)',
      'if git -c protocol.file.allow=always submodule add -q "$src" "mod-$S" >/dev/null 2>&1; then',
      '  git commit -q --no-verify -m "task $T: submodule" && ledger_commit',
      '  next; (cd "mod-$S" && echo "$ID" > inner.txt && git add inner.txt && git commit -q -m inner) &&',
      '  git add "mod-$S" && git commit -q --no-verify -m "task $T: submodule work" && ledger_commit',
      'fi',
    ].join('\n'),
  },
  ignoreOwn: {
    phase: 'work',
    description: 'adds its own folder to .gitignore and writes files there (hidden from git status)',
    shell: [
      'echo "gen-$S/" >> .gitignore; mkdir -p "gen-$S"',
      'next; f="gen-$S/made-$$-$N.txt"; echo "work of $T: $ID" > "$f"; ledger_file "$f"',
    ].join('\n'),
  },
  hideEdits: {
    phase: 'work',
    description: 'git update-index --skip-worktree on src/a.txt, then edits it (hidden from status)',
    shell: [
      'git update-index --skip-worktree src/a.txt && next && echo "hidden $ID" >> src/a.txt',
      'ledger_file src/a.txt',
    ].join('\n'),
  },
  dotGitGone: {
    phase: 'last',
    description: "leaves a file uncommitted, then deletes its worktree's .git file",
    shell: 'new_file; ledger_file "$f"; rm -f .git',
  },
  gitNotes: {
    phase: 'work',
    description: 'commits and adds a git note to the commit',
    shell: 'new_file; commit_paths "$f"; git notes add -f -m "note of $T" HEAD 2>/dev/null || :',
  },
  configEmail: {
    phase: 'work',
    description: 'sets user.email with git config (the shared config)',
    shell: 'git config user.email "agent-$S@example.invalid"',
  },
  autocrlf: {
    phase: 'setup',
    description: 'git config core.autocrlf true (the shared config: every worktree converts)',
    shell: 'git config core.autocrlf true',
  },
  crlfFiles: {
    phase: 'work',
    description: 'commits a file with CRLF line ends, leaves another uncommitted',
    // In the ledger at exit, as the task's own attributes then make git store it (ledger_file):
    // a .gitattributes it commits after this piece counts too; nothing else may change its bytes.
    shell: [
      String.raw`next; mkdir -p work; f="work/crlf-$S-$$-$N.txt"; printf 'crlf of %s\r\nsecond line\r\n' "$ID" > "$f"; commit_paths "$f"`,
      String.raw`next; crlf="work/crlf-$S-$$-$N.txt"; printf 'crlf of %s\r\nsecond line\r\n' "$ID" > "$crlf"`,
      'trap \'ledger_file "$crlf"\' EXIT',
    ].join('\n'),
  },
  pullRebase: {
    phase: 'work',
    description: 'git config pull.rebase true (the shared config)',
    shell: 'git config pull.rebase true',
  },
  includeConfig: {
    phase: 'setup',
    description:
      "writes git lfs install's filter (required, no git-lfs here) in a file of its worktree and includes it by a relative include.path",
    shell: [
      'g="$(pwd -P)/.agent-$S.gitconfig"',
      String.raw`printf '[filter "lfs"]\n\tclean = git-lfs clean -- %%f\n\tsmudge = git-lfs smudge -- %%f\n\tprocess = git-lfs filter-process\n\trequired = true\n' > "$g"`,
      'ledger_file ".agent-$S.gitconfig"',
      'git config --add include.path "$(realpath --relative-to="$(git rev-parse --path-format=absolute --git-common-dir)" "$g")"',
    ].join('\n'),
  },
  eolAttributes: {
    phase: 'work',
    description: "commits a .gitattributes with '* text=auto eol=crlf', leaves a file uncommitted",
    shell: [
      "printf '* text=auto eol=crlf\\n' >> .gitattributes; commit_paths .gitattributes",
      'new_file; ledger_file "$f"',
    ].join('\n'),
  },
  lfsAttributes: {
    phase: 'work',
    description: "commits a .gitattributes with '*.txt filter=lfs' (no git-lfs), leaves a .txt uncommitted",
    shell: [
      "printf '*.txt filter=lfs diff=lfs merge=lfs -text\\n' >> .gitattributes; commit_paths .gitattributes",
      'new_file; ledger_file "$f"',
    ].join('\n'),
  },
  worktreeConfig: {
    phase: 'work',
    description: 'git config extensions.worktreeConfig true, then git config --worktree user.email',
    shell: [
      'git config extensions.worktreeConfig true',
      'git config --worktree user.email "wt-$S@example.invalid"',
    ].join('\n'),
  },
  excludeLog: {
    phase: 'work',
    description: "echo '*.log' >> .git/info/exclude (the shared one), leaves its own .log file",
    shell: [
      'echo "*.log" >> "$(git rev-parse --git-path info/exclude)"',
      'next; mkdir -p work; f="work/run-$S-$$-$N.log"; echo "log of $T: $ID" > "$f"; ledger_file "$f"',
    ].join('\n'),
  },
};

/**
 * Behaviours added after the seeds in test/safety/chaos.test.ts were picked: the scenario
 * generator draws them only when asked (`extra`), so an old seed still stands for its scenario.
 */
export const EXTRA_BEHAVIOURS: readonly BehaviourName[] = [
  'stash',
  'ownWorktree',
  'deleteBranch',
  'amendAfterPush',
  'oddNames',
  'symlinkOut',
  'hugeFile',
  'staleLock',
  'configIdentity',
  'sideRefs',
  'forceUserBranch',
  'deleteUserBranch',
  'gcPrune',
  'rewriteBranch',
  'mainLock',
  'writeOtherTask',
  'caseRename',
  'chmodOnly',
  'fileToLink',
  'fileToDir',
  'stashPopConflict',
  'orphanBranch',
  'cherryPickLeft',
  'emptyCommits',
  'submoduleWork',
  'ignoreOwn',
  'hideEdits',
  'dotGitGone',
  'gitNotes',
  'configEmail',
  'autocrlf',
  'crlfFiles',
  'pullRebase',
  'includeConfig',
  'eolAttributes',
  'lfsAttributes',
  'worktreeConfig',
  'excludeLog',
];

export const BEHAVIOUR_NAMES = Object.keys(BEHAVIOURS) as BehaviourName[];

/**
 * Helpers every agent script starts with. Agents commit with their own identity (never the
 * repository's config) and write each ledger line only after the fact it states is true. Each
 * attempt records its pid in `$LEDGER/pids` (so the harness can end what the tool left running),
 * in `$LEDGER/<task>.attempts` and in its ledger lines (so a lost item can be traced to the
 * attempt that made it). Helpers set variables (`$f`, `$ID`) rather than print them: a command
 * substitution is a subshell, where the counter that keeps contents unique would not advance.
 * `json_text` and `json_name` escape only newlines: the files and names they quote are written
 * here or hold git's conflict markers, with no ASCII quote or backslash.
 */
const PRELUDE = String.raw`set -u
T="$PE_TASK_ID"
S=$(printf %s "$T" | tr -c 'A-Za-z0-9' '-')
L="$LEDGER/$S.jsonl"
N=0
export GIT_AUTHOR_NAME='Messy Agent' GIT_AUTHOR_EMAIL='messy@example.invalid'
export GIT_COMMITTER_NAME='Messy Agent' GIT_COMMITTER_EMAIL='messy@example.invalid'
echo "$$" >> "$LEDGER/pids"
echo "$$" >> "$LEDGER/$S.attempts"
next() { N=$((N + 1)); ID="$PE_EXECUTION_ID $$ $N"; }
json_text() { awk 'BEGIN { ORS = "" } { gsub(/\r/, "\\r"); print $0 "\\n" }' "$1"; }
ledger_sha() { printf '{"commit":"%s","task":"%s","pid":%s}\n' "$1" "$T" $$ >> "$L"; }
ledger_commit() { ledger_sha "$(git rev-parse HEAD)"; }
json_name() { printf %s "$1" | awk 'BEGIN { ORS = "" } NR > 1 { print "\\n" } { print }'; }
ledger_file() {
  if git check-attr text -- "$1" 2>/dev/null | grep -q ": \(set\|auto\)$"; then
    tr -d '\r' < "$1" > "$L.lf"; ledger_as "$1" "$L.lf"; rm -f "$L.lf"; return
  fi
  printf '{"uncommitted":"%s","content":"%s","task":"%s","pid":%s}\n' "$(json_name "$1")" "$(json_text "$1")" "$T" $$ >> "$L"
}
ledger_as() { printf '{"uncommitted":"%s","content":"%s","task":"%s","pid":%s}\n' "$(json_name "$1")" "$(json_text "$2")" "$T" $$ >> "$L"; }
ledger_mode() { printf '{"uncommitted":"%s","content":"%s","mode":"%s","task":"%s","pid":%s}\n' "$(json_name "$1")" "$(json_text "$1")" "$2" "$T" $$ >> "$L"; }
ledger_link() { printf '{"uncommitted":"%s","content":"%s","task":"%s","pid":%s}\n' "$(json_name "$1")" "$(json_name "$(readlink "$1")")" "$T" $$ >> "$L"; }
new_file() { next; mkdir -p work; f="work/$S-$$-$N.txt"; echo "work of $T: $ID" > "$f"; }
side_commit() {
  next; blob=$(echo "side of $T: $ID" | git hash-object -w --stdin) &&
  tree=$( (git ls-tree "$1"; printf '100644 blob %s\tside-%s-%s-%s.txt\n' "$blob" "$S" $$ "$N") | git mktree) &&
  c=$(git commit-tree "$tree" -p "$1" -m "task $T: side $N")
}
commit_paths() { git add -- "$@" && git commit -q --no-verify -m "task $T: $*" && ledger_commit; }
`;

const PHASE_ORDER: readonly Phase[] = ['setup', 'work', 'midOperation', 'last', 'exit'];

/** The agent's script: the prelude, then its behaviours by phase (stable within a phase). */
export function agentScript(behaviours: readonly BehaviourName[]): string {
  const ordered = [...behaviours].sort(
    (a, b) => PHASE_ORDER.indexOf(BEHAVIOURS[a].phase) - PHASE_ORDER.indexOf(BEHAVIOURS[b].phase),
  );
  const body = ordered.map(
    (name) => `# ${name}: ${BEHAVIOURS[name].description}\n${BEHAVIOURS[name].shell}`,
  );
  return `${PRELUDE}\n${body.join('\n')}\n`;
}

/** A file name safe for a task id (the same mapping as `$S` in the prelude). */
export function taskSlug(taskId: string): string {
  return taskId.replace(/[^A-Za-z0-9]/g, '-');
}

/**
 * Write one script per task under `dir` and return the `--agent-command` that runs the right one
 * (it needs `LEDGER` in the orchestrator's environment).
 */
export async function writeAgents(
  dir: string,
  agents: Record<string, readonly BehaviourName[]>,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [taskId, behaviours] of Object.entries(agents)) {
    const file = join(dir, `${taskSlug(taskId)}.sh`);
    await writeFile(file, agentScript(behaviours));
    await chmod(file, 0o755);
  }
  return `exec sh "${dir}/$(printf %s "$PE_TASK_ID" | tr -c 'A-Za-z0-9' '-').sh"`;
}
