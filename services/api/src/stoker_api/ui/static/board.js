// The board: queues, jobs and workers, as the API lists them, redrawn every few seconds.

import { api, currentCaller } from "./api.js";
import { $, attemptsText, el, progressText, seconds, statusBadge, when } from "./format.js";
import { hideNotice, report } from "./notice.js";
import { hrefFor, route } from "./route.js";

const REFRESH_MS = 3000;
const PAGE_SIZE = 50;
const MAX_ROWS = 500; // the API's largest page

const state = {
  cursor: null,
  shown: PAGE_SIZE,
  filters: null,
  queues: [], // queue names, as /v1/queues last listed them
  queueNames: "",
  selected: null, // the id of the job open in the detail panel
  refreshing: false,
  refreshFailed: false, // the notice shows why the last refresh failed; the next good one clears it
  timer: null,
};

const num = (value) => el("td", { class: "num" }, value);

async function loadQueues() {
  const page = await api("/queues");
  $("#queues tbody").replaceChildren(
    ...page.items.map((q) =>
      el(
        "tr",
        { "data-queue": q.name },
        el("td", {}, el("a", { href: hrefFor({ queue: q.name }) }, q.name)),
        num(q.waiting_total),
        num(q.waiting.high),
        num(q.waiting.normal),
        num(q.waiting.low),
        num(q.scheduled),
        num(q.running),
        num(q.dead),
        num(seconds(q.oldest_waiting_age_s)),
        num(q.workers),
        el("td", {}, q.paused ? "paused" : "active"),
      ),
    ),
  );
  state.queues = page.items.map((q) => q.name);
  fillQueueFilter();
}

function fillQueueFilter() {
  const wanted = route().queue;
  const all = [...new Set([...state.queues, ...(wanted ? [wanted] : [])])].sort();
  if (all.join("\n") === state.queueNames) return; // leave an open select alone
  state.queueNames = all.join("\n");
  const select = $("#filter-queue");
  select.replaceChildren(el("option", { value: "" }, "all"), ...all.map((name) => el("option", { value: name }, name)));
  select.value = wanted;
}

function jobRow(job) {
  return el(
    "tr",
    { "data-job-id": job.id, class: job.id === state.selected ? "selected" : null },
    el("td", {}, el("a", { class: "job-link", href: hrefFor({ job: job.id }) }, job.id)),
    el("td", {}, job.task),
    el("td", {}, job.queue),
    el("td", {}, statusBadge(job.status)),
    el("td", {}, progressText(job.progress)),
    el("td", {}, attemptsText(job.attempts)),
    el("td", {}, when(job.created_at)),
  );
}

export async function loadJobs({ more = false } = {}) {
  const { queue, status } = route();
  const params = new URLSearchParams({ limit: String(more ? PAGE_SIZE : Math.min(state.shown, MAX_ROWS)) });
  if (queue) params.set("queue", queue);
  if (status) params.set("status", status);
  if (more && state.cursor) params.set("cursor", state.cursor);
  const page = await api(`/jobs?${params}`);
  const body = $("#jobs tbody");
  const rows = page.items.map(jobRow);
  if (more) {
    body.append(...rows);
    state.shown += rows.length;
  } else {
    body.replaceChildren(...rows);
  }
  state.cursor = page.next_cursor;
  $("#more").hidden = !page.next_cursor;
  $("#jobs-empty").hidden = body.children.length > 0;
}

async function loadWorkers() {
  const page = await api("/workers");
  $("#workers tbody").replaceChildren(
    ...page.items.map((w) =>
      el(
        "tr",
        { "data-worker": w.id },
        el("td", {}, w.id),
        el("td", {}, w.queues.join(", ")),
        el("td", {}, w.gpu_name ? `${w.device} (${w.gpu_name})` : w.device),
        num(`${w.busy}/${w.slots}`),
        num(w.processed),
        el("td", {}, when(w.last_heartbeat)),
      ),
    ),
  );
}

export async function refresh() {
  if (state.refreshing || !currentCaller()) return;
  state.refreshing = true;
  try {
    await Promise.all([loadQueues(), loadJobs(), loadWorkers()]);
    if (state.refreshFailed) hideNotice();
    state.refreshFailed = false;
  } catch (err) {
    report(err);
    state.refreshFailed = true;
  } finally {
    state.refreshing = false;
  }
}

export function startRefreshing() {
  refresh();
  clearInterval(state.timer);
  state.timer = setInterval(() => document.hidden || refresh(), REFRESH_MS);
}

export function stopRefreshing() {
  clearInterval(state.timer);
}

// The filters as the route has them; the list is read again only when they changed.
export function showFilters(queue, status) {
  fillQueueFilter();
  $("#filter-queue").value = queue;
  $("#filter-status").value = status;
}

export function filterJobs(queue, status) {
  if (`${queue}|${status}` === state.filters) return;
  state.filters = `${queue}|${status}`;
  state.shown = PAGE_SIZE;
  if (currentCaller()) loadJobs().catch(report);
}

// Marks the open job's row in the list ("" or null: none).
export function select(id) {
  state.selected = id || null;
  for (const row of document.querySelectorAll("#jobs tr[data-job-id]")) {
    row.classList.toggle("selected", row.dataset.jobId === id);
  }
}

// Redraws one job's row, if the list shows it, from a fresher read of the job.
export function updateRow(job) {
  const row = document.querySelector(`#jobs tr[data-job-id="${CSS.escape(job.id)}"]`);
  if (row) row.replaceWith(jobRow(job));
}
