// Text a model, an MCP server or a repository wrote (a task, a summary, a path, a prompt) shown
// as text. VS Code turns `[label](command:…)` in a notification or dialog into a link that runs a
// command, and `$(name)` in a label into an icon: a hostile text could offer "Allow" where Baton
// did not, or dress itself in Baton's icons. A zero-width space keeps both from being read as syntax.
export function asText(text: string): string {
  return text.replace(/\]\(/g, "]\u200b(").replace(/\$\(/g, "$\u200b(");
}
