// How values look on the page. Job data is user data, so every value goes into the page as text
// (text nodes and attributes), never parsed as HTML.

export const $ = (selector) => document.querySelector(selector);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "onclick") node.addEventListener("click", value);
    else node.setAttribute(name, String(value));
  }
  node.append(...children.map((child) => (child instanceof Node ? child : String(child ?? ""))));
  return node;
}

export function seconds(value) {
  if (value === null || value === undefined) return "–";
  if (value < 60) return `${value.toFixed(1)} s`;
  if (value < 3600) return `${(value / 60).toFixed(1)} min`;
  return `${(value / 3600).toFixed(1)} h`;
}

export function when(iso) {
  if (!iso) return "–";
  return el("time", { datetime: iso, title: iso }, new Date(iso).toLocaleString());
}

export function statusBadge(status) {
  return el("span", { class: `status status-${status}`, "data-status": status }, status);
}

export function progressText(progress) {
  if (!progress) return "–";
  const percent = `${Math.round(progress.fraction * 100)}%`;
  return progress.message ? `${percent} ${progress.message}` : percent;
}

export function progressView(progress) {
  if (!progress) return "–";
  return el("span", {}, el("progress", { max: 1, value: progress.fraction }), " ", progressText(progress));
}

export function attemptsText(attempts) {
  const spent = Object.entries(attempts).filter(([, n]) => n > 0);
  return spent.length ? spent.map(([cause, n]) => `${n} ${cause}`).join(", ") : "–";
}

export function errorText(error) {
  const parts = [`${error.code}: ${error.message}`];
  const details = error.details;
  if (details && typeof details === "object" && typeof details.traceback === "string") {
    const { traceback, ...rest } = details;
    if (Object.keys(rest).length) parts.push(JSON.stringify(rest, null, 2));
    parts.push(traceback);
  } else if (details !== null && details !== undefined) {
    parts.push(JSON.stringify(details, null, 2));
  }
  return parts.join("\n\n");
}
