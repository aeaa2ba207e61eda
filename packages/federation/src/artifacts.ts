import path from "node:path";

/** Folder with this package's compiled contract artifacts; works from both src/ and dist/. */
export const artifactsDir = path.join(__dirname, "..", "artifacts");
