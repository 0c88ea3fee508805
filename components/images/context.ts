import * as path from "node:path";

/** The role images' folder in this repository: images/<role>/Dockerfile, images/common shared. */
export const IMAGES_DIR = path.resolve(__dirname, "../../images");

/** Role images built from images/<role>/Dockerfile; images/common is shared by all. */
export type ImageRole = "slurm" | "postgres" | "monitoring" | "mariadb" | "backup-repository" | "logs" | "dashboards";

/**
 * A role's build context and its Dockerfile there. images/ for most (they share
 * images/common). The binaries setup puts in images/logs and images/dashboards (about 140 MB)
 * are kept out of it by images/.dockerignore, since a build sends its whole context,
 * compressed, to the engine each time: the log store is built from its own folder, the
 * dashboard server from the repository root, where .dockerignore lets in images/common and
 * images/dashboards alone.
 */
export function buildContext(role: ImageRole, images = IMAGES_DIR): { dir: string; dockerfile: string } {
  const dir = role === "logs" ? path.join(images, "logs") : role === "dashboards" ? path.dirname(images) : images;
  return { dir, dockerfile: path.relative(dir, path.join(images, role, "Dockerfile")) };
}
