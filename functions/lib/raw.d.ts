// Files imported with `?raw` are bundled as their text (esbuild plugin in infra/build.ts; Vite natively).
declare module '*?raw' {
  const text: string;
  export default text;
}
