// Regenerates the Teams app icons deterministically (no dependencies): node teams-app/icons.mjs
//   color.png   192×192, full colour: a white key on the campaign blue
//   outline.png  32×32, the same key in white (#FFFFFF) on a transparent background
// Teams requires exactly these sizes and an outline icon that is white on transparent.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';

const BLUE = [0x0f, 0x6c, 0xbd];

/** Whether the point (x, y) in [0,1]² is on the key: a ring on the left, a shaft to the right with two teeth. */
function onKey(x, y) {
  const dx = x - 0.34;
  const dy = y - 0.5;
  const r = Math.hypot(dx, dy);
  if (r <= 0.2 && r >= 0.1) return true;
  if (x >= 0.5 && x <= 0.86 && y >= 0.455 && y <= 0.545) return true;
  if (y > 0.545 && y <= 0.68 && ((x >= 0.64 && x <= 0.7) || (x >= 0.78 && x <= 0.84))) return true;
  return false;
}

/** Coverage of a pixel by the key, from a 4×4 supersample (anti-aliased edges, still deterministic). */
function coverage(px, py, size) {
  let hits = 0;
  for (let sy = 0; sy < 4; sy++) for (let sx = 0; sx < 4; sx++) if (onKey((px + (sx + 0.5) / 4) / size, (py + (sy + 0.5) / 4) / size)) hits++;
  return hits / 16;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** An 8-bit RGBA PNG of `size`×`size` whose pixel (x, y) is `pixel(x, y)`. */
function png(size, pixel) {
  const raw = Buffer.alloc(size * (1 + size * 4));
  for (let y = 0; y < size; y++) {
    raw[y * (1 + size * 4)] = 0; // filter: none
    for (let x = 0; x < size; x++) Buffer.from(pixel(x, y)).copy(raw, y * (1 + size * 4) + 1 + x * 4);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // bit depth 8, colour type 6 (RGBA), deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const mix = (a, b, t) => Math.round(a + (b - a) * t);
export const colorIcon = () => png(192, (x, y) => {
  const c = coverage(x, y, 192);
  return [mix(BLUE[0], 255, c), mix(BLUE[1], 255, c), mix(BLUE[2], 255, c), 255];
});
export const outlineIcon = () => png(32, (x, y) => [255, 255, 255, Math.round(coverage(x, y, 32) * 255)]);

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const here = dirname(fileURLToPath(import.meta.url));
  writeFileSync(join(here, 'color.png'), colorIcon());
  writeFileSync(join(here, 'outline.png'), outlineIcon());
}
