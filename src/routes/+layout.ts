// A static single-page app: no server rendering, no prerendered routes beyond the fallback shell.
export const ssr = false;
export const prerender = false;
