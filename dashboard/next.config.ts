import type { NextConfig } from "next";

// Built as a static export served by llm-proxy at /ui/ (same origin as /admin/*).
// `npm run dev` proxies /admin to a running gateway instead (GATEWAY_URL).
const development = process.env.NODE_ENV === "development";
const gateway = process.env.GATEWAY_URL ?? "http://127.0.0.1:4000";

const config: NextConfig = {
  basePath: "/ui",
  trailingSlash: true,
  images: { unoptimized: true },
  poweredByHeader: false,
  reactStrictMode: true,
  eslint: { ignoreDuringBuilds: true },
  ...(development
    ? {
        async rewrites() {
          return [{ source: "/admin/:path*", destination: `${gateway}/admin/:path*`, basePath: false }];
        },
      }
    : { output: "export" }),
};

export default config;
