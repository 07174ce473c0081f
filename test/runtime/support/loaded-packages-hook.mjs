// The module hook of loaded-packages.mjs (it runs on the hooks thread): posts each URL it loads.
let port;

export function initialize(data) {
  port = data.port;
}

export async function load(url, context, nextLoad) {
  port.postMessage(url);
  return nextLoad(url, context);
}
