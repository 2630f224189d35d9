// Where the page is: #queue=…&status=…&job=…, so a view can be linked and survives a reload.

export function route() {
  const params = new URLSearchParams(location.hash.slice(1));
  return { queue: params.get("queue") || "", status: params.get("status") || "", job: params.get("job") || "" };
}

export function hrefFor(changes) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries({ ...route(), ...changes })) if (value) params.set(name, value);
  return `#${params}`;
}

export function go(changes) {
  location.hash = hrefFor(changes);
}
