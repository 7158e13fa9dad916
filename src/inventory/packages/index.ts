/**
 * Package readers: OS package databases (dpkg, apk), npm lockfiles and installed packages,
 * Python metadata — from an image (`fromImage`, through the engine's archive API, never running
 * it) or from files already at hand (`packagesFromFiles` and the single-format readers).
 */
export { readApkInstalled } from "./apk.ts"
export { readDpkgStatus } from "./dpkg.ts"
export { defaultAppPaths, defaultPythonPaths, fromImage, type ImageOptions, type ImagePackages, packagesFromFiles } from "./image.ts"
export { readInstalledPackageJson, readPackageLock } from "./npm.ts"
export { type OsRelease, osvRelease, parseOsRelease } from "./os-release.ts"
export { readMetadata } from "./python.ts"
