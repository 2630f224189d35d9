// The one notice line: why the last thing failed. A refused key is not a notice but a new sign-in.

import { describe, isUnauthorized } from "./api.js";
import { $ } from "./format.js";

let onUnauthorized = () => {};

// app.js asks for a new key here; the modules that report failures need not know about signing in.
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

export function showNotice(text) {
  $("#notice").textContent = text;
  $("#notice").hidden = false;
}

export function hideNotice() {
  $("#notice").hidden = true;
}

export function report(err) {
  if (isUnauthorized(err)) {
    onUnauthorized(`The API did not accept the key: ${err.message}`);
    return;
  }
  showNotice(describe(err));
}
