// One job in the detail panel: its fields, error and result, an admin's retry and cancel, and its
// live events, which keep the panel current.

import { api, currentCaller, describe, jobPath, openStream } from "./api.js";
import { refresh, select, updateRow } from "./board.js";
import { $, attemptsText, el, errorText, progressText, progressView, seconds, statusBadge, when } from "./format.js";
import { report } from "./notice.js";

const RETRYABLE = new Set(["failed", "canceled", "expired"]);
const CANCELABLE = new Set(["queued", "scheduled", "running"]);

const state = {
  job: null, // the id of the job open in the detail panel
  current: null, // that job as last read
  resultFor: null,
  stream: null, // AbortController of the open event stream
};

function field(key, label, value) {
  return [el("dt", {}, label), el("dd", { "data-field": key }, value)];
}

function renderJob(job) {
  state.current = job;
  const { timings, webhook } = job;
  $("#detail-fields").replaceChildren(
    ...field("status", "Status", statusBadge(job.status)),
    ...field("task", "Task", job.task),
    ...field("queue", "Queue", job.queue),
    ...field("priority", "Priority", job.priority),
    ...field("progress", "Progress", progressView(job.progress)),
    ...field("attempts", "Attempts", attemptsText(job.attempts)),
    ...field("created", "Created", when(job.created_at)),
    ...field("scheduled", "Scheduled for", when(job.scheduled_for)),
    ...field("started", "Started", when(job.started_at)),
    ...field("finished", "Finished", when(job.finished_at)),
    ...field("timings", "Wait / run / total", [timings.wait_s, timings.run_s, timings.total_s].map(seconds).join(" / ")),
    ...field("worker", "Worker", job.worker || "–"),
    ...field("cancel", "Cancel requested", job.cancel_requested ? "yes" : "no"),
    ...field("metadata", "Metadata", Object.keys(job.metadata).length ? JSON.stringify(job.metadata) : "–"),
    ...field("webhook", "Webhook", webhook ? `${webhook.state}, ${webhook.attempts} attempts ${webhook.error || ""}` : "–"),
  );
  $("#detail-error").textContent = job.error ? errorText(job.error) : "–";
  if (job.status !== "succeeded") {
    $("#detail-result").textContent = "–";
    state.resultFor = null;
  } else if (state.resultFor !== job.id) {
    state.resultFor = job.id;
    loadResult(job.id);
  }
  renderActions(job);
  updateRow(job);
}

function renderProgress(event) {
  const dd = document.querySelector('#detail-fields dd[data-field="progress"]');
  if (dd) dd.replaceChildren(progressView(event));
}

async function loadResult(id) {
  let text;
  try {
    text = JSON.stringify((await api(`${jobPath(id)}/result`)).output, null, 2);
  } catch (err) {
    text = describe(err);
  }
  if (state.job === id) $("#detail-result").textContent = text;
}

function renderActions(job) {
  const buttons = [];
  const caller = currentCaller();
  if (caller && caller.admin) {
    if (RETRYABLE.has(job.status)) {
      buttons.push(el("button", { type: "button", id: "retry", onclick: () => act(job.id, "retry") }, "Retry"));
    }
    if (CANCELABLE.has(job.status) && !job.cancel_requested) {
      buttons.push(el("button", { type: "button", id: "cancel", onclick: () => act(job.id, "cancel") }, "Cancel"));
    }
  }
  $("#detail-actions").replaceChildren(...buttons);
}

async function act(id, action) {
  for (const button of document.querySelectorAll("#detail-actions button")) button.disabled = true;
  try {
    const job = await api(`${jobPath(id)}/${action}`, "POST");
    if (state.job !== id) return;
    logEvent(action, { status: job.status });
    renderJob(job);
    if (!state.stream) follow(id); // a retried job runs again: follow its new events
    refresh();
  } catch (err) {
    report(err);
    if (state.current) renderActions(state.current);
  }
}

function logEvent(name, data) {
  let text;
  if (name === "status") text = data.error ? `${data.status} (${data.error.code})` : data.status;
  else if (name === "progress") text = progressText(data);
  else if (name === "end") text = `ended ${data.status}`;
  else if (name === "retry" || name === "cancel") text = `asked here; now ${data.status}`;
  else text = JSON.stringify(data);
  $("#detail-events").append(
    el("li", { "data-event": name }, el("time", {}, new Date().toLocaleTimeString()), " ", el("strong", {}, name), " ", text),
  );
}

function parseEvent(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue; // a keep-alive comment
    const colon = line.indexOf(":");
    const key = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (key === "event") name = value;
    else if (key === "data") data.push(value);
  }
  if (!data.length) return null;
  try {
    return { name, data: JSON.parse(data.join("\n")) };
  } catch {
    return null;
  }
}

function onEvent(id, { name, data }) {
  logEvent(name, data);
  if (name === "status") renderJob(data);
  else if (name === "progress") renderProgress(data);
  else if (name === "timeout") follow(id); // the API closes long streams: open the next one
}

async function follow(id) {
  stopStream();
  const controller = new AbortController();
  state.stream = controller;
  try {
    const reader = await openStream(`${jobPath(id)}/events`, controller.signal);
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
        const event = parseEvent(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        if (event && state.stream === controller) onEvent(id, event);
      }
    }
  } catch (err) {
    if (err.name !== "AbortError" && state.job === id) report(err);
  } finally {
    if (state.stream === controller) state.stream = null;
  }
}

function stopStream() {
  if (state.stream) state.stream.abort();
  state.stream = null;
}

function openDetail(id) {
  state.job = id;
  state.current = null;
  state.resultFor = null;
  select(id);
  $("#detail").hidden = false;
  $("#detail-id").textContent = id;
  for (const selector of ["#detail-fields", "#detail-events", "#detail-actions"]) $(selector).replaceChildren();
  $("#detail-error").textContent = "";
  $("#detail-result").textContent = "";
  follow(id); // its first event is the whole job
}

export function closeDetail() {
  stopStream();
  state.job = null;
  state.current = null;
  select(null);
  $("#detail").hidden = true;
}

// The panel for the route's job ("" for none), opened afresh only when that is another job.
export function showDetail(id) {
  if (id === (state.job || "")) return;
  if (id) openDetail(id);
  else closeDetail();
}
