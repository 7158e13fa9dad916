/** shiftup's version, in a module of its own so that `shiftup --version` loads nothing else. Equal to package.json's (the consumer test checks). */
export const version = "0.1.0"
