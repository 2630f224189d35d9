// Stoker's web view: plain DOM code over the public /v1 API. This module signs in with the tab's key,
// follows the route and wires the page's controls; the other modules draw the board and the job.

import { currentCaller, forgetKey, isUnauthorized, keepKey, signIn, storedKey } from "./api.js";
import { filterJobs, loadJobs, refresh, showFilters, startRefreshing, stopRefreshing } from "./board.js";
import { $, el } from "./format.js";
import { closeDetail, showDetail } from "./job.js";
import { hideNotice, report, showNotice, whenUnauthorized } from "./notice.js";
import { go, route } from "./route.js";

const STATUSES = ["queued", "scheduled", "running", "succeeded", "failed", "canceled", "expired"];

function askForKey(message) {
  forgetKey();
  stopRefreshing();
  closeDetail();
  $("#board").hidden = true;
  $("#sign-in").hidden = false;
  $("#forget-key").hidden = true;
  $("#who").replaceChildren();
  if (message) showNotice(message);
  else hideNotice();
  $("#key-input").focus();
}

async function start() {
  try {
    await signIn();
  } catch (err) {
    if (isUnauthorized(err)) {
      askForKey(storedKey() ? "The API did not accept the key." : "");
    } else {
      report(err);
    }
    return;
  }
  showBoard();
}

function showBoard() {
  const caller = currentCaller();
  const role = caller.admin ? "admin" : "user";
  $("#who").replaceChildren(
    caller.auth_disabled
      ? el("span", { id: "role", class: "role role-open" }, "no keys (local)")
      : el("span", {}, "key ", el("code", {}, caller.key_id), " ", el("span", { id: "role", class: `role role-${role}` }, role)),
  );
  $("#forget-key").hidden = caller.auth_disabled;
  $("#sign-in").hidden = true;
  $("#board").hidden = false;
  hideNotice();
  applyRoute();
  startRefreshing();
}

function applyRoute() {
  const { queue, status, job } = route();
  showFilters(queue, status);
  showDetail(job);
  filterJobs(queue, status);
}

function wire() {
  whenUnauthorized(askForKey);
  $("#filter-status").append(...STATUSES.map((s) => el("option", { value: s }, s)));
  $("#key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("#key-input").value.trim();
    $("#key-input").value = "";
    if (!key) return;
    keepKey(key);
    start();
  });
  $("#forget-key").addEventListener("click", () => askForKey(""));
  $("#notice").addEventListener("click", hideNotice);
  $("#filter-queue").addEventListener("change", (event) => go({ queue: event.target.value }));
  $("#filter-status").addEventListener("change", (event) => go({ status: event.target.value }));
  $("#refresh").addEventListener("click", () => refresh());
  $("#more").addEventListener("click", () => loadJobs({ more: true }).catch(report));
  $("#detail-close").addEventListener("click", (event) => {
    event.preventDefault();
    go({ job: "" });
  });
  window.addEventListener("hashchange", () => currentCaller() && applyRoute());
}

wire();
start();
