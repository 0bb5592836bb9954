// Simple line icons, drawn locally (no fonts or files from the internet).
"use strict";
const ICON_PATHS = {
  card: '<rect x="6" y="14" width="52" height="36" rx="5"/><circle cx="22" cy="30" r="6"/><path d="M13 44c2-6 16-6 18 0M36 26h14M36 34h14M36 42h9"/>',
  person: '<circle cx="32" cy="20" r="10"/><path d="M12 56c2-14 12-20 20-20s18 6 20 20"/>',
  people: '<circle cx="22" cy="22" r="8"/><circle cx="44" cy="22" r="8"/><path d="M6 54c1-11 8-16 16-16s15 5 16 16M30 54c1-11 7-16 14-16s14 5 15 16"/>',
  camera: '<rect x="6" y="18" width="52" height="34" rx="5"/><circle cx="32" cy="35" r="10"/><path d="M22 18l4-7h12l4 7"/>',
  calendar: '<rect x="8" y="12" width="48" height="44" rx="4"/><path d="M8 24h48M20 6v12M44 6v12"/>',
  stop: '<circle cx="32" cy="32" r="24"/><path d="M15 15l34 34"/>',
  check: '<circle cx="32" cy="32" r="25"/><path d="M19 33l9 9 17-19"/>',
  cross: '<circle cx="32" cy="32" r="25"/><path d="M22 22l20 20M42 22L22 42"/>',
  clock: '<circle cx="32" cy="32" r="24"/><path d="M32 18v15l10 6"/>',
  staff: '<circle cx="32" cy="18" r="9"/><path d="M14 58c1-14 9-22 18-22s17 8 18 22M26 36l6 10 6-10"/>',
  face: '<circle cx="32" cy="32" r="24"/><circle cx="24" cy="27" r="2.5"/><circle cx="40" cy="27" r="2.5"/><path d="M24 42h16"/>',
  light: '<circle cx="32" cy="30" r="12"/><path d="M32 6v6M32 48v10M8 30h6M50 30h6M15 13l4 4M45 17l4-4M26 52h12"/>',
  screen: '<rect x="6" y="10" width="52" height="34" rx="3"/><path d="M24 56h16M32 44v12"/>',
  wifi: '<path d="M8 26c14-13 34-13 48 0M16 35c9-8 23-8 32 0M24 44c5-4 11-4 16 0"/><circle cx="32" cy="52" r="3"/><path d="M10 10l44 46"/>',
  closer: '<circle cx="32" cy="26" r="12"/><path d="M14 58c2-12 10-18 18-18s16 6 18 18M8 8l10 10M56 8L46 18"/>',
  back: '<circle cx="32" cy="32" r="8"/><path d="M20 52c2-8 6-12 12-12s10 4 12 12M10 10l-4 4M54 10l4 4"/>',
  eye: '<path d="M6 32c8-12 17-18 26-18s18 6 26 18c-8 12-17 18-26 18S14 44 6 32z"/><circle cx="32" cy="32" r="8"/>',
  save: '<path d="M10 8h36l8 8v40H10z"/><path d="M20 8v14h22V8M20 56V38h24v18"/>',
  arrow_left: '<path d="M54 32H12M28 14L10 32l18 18"/>',
  arrow_right: '<path d="M10 32h42M36 14l18 18-18 18"/>',
  sound: '<path d="M10 24h10l14-12v40L20 40H10z"/><path d="M42 22c4 6 4 14 0 20M48 16c8 9 8 23 0 32"/>',
  mute: '<path d="M10 24h10l14-12v40L20 40H10z"/><path d="M42 24l14 16M56 24L42 40"/>',
  text: '<path d="M8 52L22 12h4l14 40M13 38h22"/><path d="M42 52l8-22h2l8 22M44 45h14"/>',
  lock: '<rect x="12" y="28" width="40" height="28" rx="4"/><path d="M20 28v-8a12 12 0 0124 0v8"/>',
  nod: '<circle cx="32" cy="32" r="22"/><path d="M32 14v36M22 40l10 10 10-10"/>',
  mouth: '<circle cx="32" cy="32" r="24"/><circle cx="24" cy="24" r="2.5"/><circle cx="40" cy="24" r="2.5"/><ellipse cx="32" cy="41" rx="7" ry="8"/>',
  blink: '<path d="M6 32c8-12 17-18 26-18s18 6 26 18"/><path d="M10 36c7 7 14 10 22 10s15-3 22-10"/>',
};

function icon(name, cls) {
  const body = ICON_PATHS[name] || ICON_PATHS.stop;
  return `<svg class="icon ${cls || ""}" viewBox="0 0 64 64" aria-hidden="true" fill="none" stroke="currentColor"
    stroke-width="4" stroke-linecap="round" stroke-linejoin="round">${body}</svg>`;
}
