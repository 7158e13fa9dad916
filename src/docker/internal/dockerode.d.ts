// dockerode 5 ships no types; the slice shiftup uses is typed in client.ts.
declare module "dockerode" {
  const Dockerode: unknown
  export default Dockerode
}
