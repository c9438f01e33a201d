import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";

import { createApi, type CsrfHolder } from "@/lib/api/client";
import { ApiProvider } from "@/lib/api/context";

import { KeysTable } from "./keys-table";

const KEY = {
  id: "key_1",
  name: "ci",
  key_prefix: "sk-gw-abcd",
  team_id: null,
  user_id: null,
  budget_id: null,
  allowed_models: [],
  default_model: null,
  max_tokens_cap: null,
  expires_at: null,
  status: "active",
  metadata: {},
  created_at: "2026-03-01T00:00:00Z",
  rotated_at: null,
  revoked_at: null,
  previous_expires_at: null,
  rpm: 60,
  tpm: null,
  input_tpm: null,
  output_tpm: null,
  tpd: null,
};

/** A stand-in for the network: answers the list and records what else was asked. */
function gateway() {
  const calls: Request[] = [];
  const fetchImpl = async (input: Request) => {
    calls.push(input);
    const url = new URL(input.url);
    if (url.pathname === "/admin/keys") {
      return Response.json({ object: "list", data: [KEY], has_more: false, next_after: null });
    }
    return Response.json({ ...KEY, status: "revoked" });
  };
  return { calls, fetchImpl: fetchImpl as unknown as typeof fetch };
}

function renderTable(writable: boolean) {
  const { calls, fetchImpl } = gateway();
  const csrf: CsrfHolder = { token: "csrf-123" };
  const client = createApi(csrf, "http://gateway.test", fetchImpl);
  render(
    <QueryClientProvider client={new QueryClient()}>
      <ApiProvider value={{ client, csrf }}>
        <KeysTable writable={writable} onIssued={() => undefined} />
      </ApiProvider>
    </QueryClientProvider>,
  );
  return calls;
}

describe("KeysTable", () => {
  it("shows no write control to a role that cannot manage keys", async () => {
    renderTable(false);
    expect(await screen.findByText("ci")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /revoke|rotate/i })).toBeNull();
  });

  it("revokes only after a confirmation, sending the CSRF token", async () => {
    const calls = renderTable(true);
    await userEvent.click(await screen.findByRole("button", { name: "Revoke" }));
    expect(calls.filter((c) => c.method === "POST")).toHaveLength(0);
    await userEvent.click(screen.getByRole("button", { name: "Confirm revoke" }));
    const revoke = calls.find((c) => c.method === "POST");
    expect(revoke?.url).toBe("http://gateway.test/admin/keys/key_1/revoke");
    expect(revoke?.headers.get("x-csrf-token")).toBe("csrf-123");
  });
});
