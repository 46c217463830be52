/**
 * The name of a task's check run, the same whichever shell creates it (the workflow's plan job,
 * or the app when it manages the run), so a task looks the same in the Checks tab either way and
 * either shell finds the other's check run again.
 */

/**
 * GitHub's API takes longer names, but the Checks tab, the merge box and the commit status list
 * show one line and cut the rest; 80 characters keep the id and most titles readable.
 */
export const CHECK_NAME_MAX = 80;

/** `Task 1.1: Build the model`: the id first (what people search for), then what the task does. */
export function taskCheckName(task: { id: string; title: string }): string {
  const title = task.title.replace(/\s+/g, ' ').trim();
  const name = title === '' ? `Task ${task.id}` : `Task ${task.id}: ${title}`;
  return name.length <= CHECK_NAME_MAX ? name : `${name.slice(0, CHECK_NAME_MAX - 1)}…`;
}
