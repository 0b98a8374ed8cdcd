using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;
using Twill.Agent;
using Twill.Agent.Store;
using Twill.Leases;
using Twill.Leases.Store;

namespace Twill.Cli;

/// <summary>
/// <c>twill leases list</c>: the subnet leases in the store, as a table or JSON. The store is chosen
/// by the same flags, environment and defaults as the agent's (<see cref="LeaseStoreOptionsBinding"/>).
/// </summary>
internal static class LeasesCommand
{
    public static Command Create() =>
        new("leases", $"List and inspect the subnet leases in the store ({string.Join(", ", LeaseStoreKinds.All.Select(k => k.Name))}).") { List() };

    private static Command List()
    {
        LeaseStoreOptionsBinding flags = new();
        Option<bool> json = new("--json") { Description = "Print JSON (one array of leases) for scripts." };
        Command list = new("list", "Print every unexpired lease: subnet, public IP, backend, VtepMAC, time to expiry (never for the Kubernetes store's nodes).") { json };
        flags.AddTo(list);
        list.SetAction((parse, cancellationToken) => flags.WithListingAsync(parse, "leases list", (store, listing) =>
        {
            DateTimeOffset now = DateTimeOffset.UtcNow;
            if (parse.GetValue(json))
            {
                Console.Out.Write(ToJson(listing, now));
            }
            else
            {
                PrintTable(listing, store.Description, now);
            }
            return Task.FromResult(0);
        }, cancellationToken));
        return list;
    }

    private static void PrintTable(LeaseListing listing, string description, DateTimeOffset now)
    {
        Table table = new Table().Border(TableBorder.Rounded)
            .AddColumn(new TableColumn("Subnet").NoWrap())
            .AddColumn(new TableColumn("Public IP"))
            .AddColumn(new TableColumn("Backend"))
            .AddColumn(new TableColumn("VtepMAC").NoWrap())
            .AddColumn(new TableColumn("Expires in").NoWrap());
        foreach (LeaseRecord record in listing.Records)
        {
            if (Lease.TryFromRecord(record, out Lease? lease, out string? error))
            {
                VxlanLeaseData? vxlan = lease.Attrs.VxlanData;
                string publicIP = lease.Attrs.PublicIPv6 is null ? lease.Attrs.PublicIP.ToString() : $"{lease.Attrs.PublicIP}\n{lease.Attrs.PublicIPv6}";
                string mac = vxlan is null ? "" : vxlan.HasVtepMac ? vxlan.VtepMacText : "(none yet)";
                if (lease.Attrs.VxlanV6Data is VxlanLeaseData v6)
                {
                    mac += "\n" + (v6.HasVtepMac ? v6.VtepMacText : "(none yet)");
                }
                string subnet = string.Join('\n', new[] { lease.Subnets.IPv4?.ToString(), lease.Subnets.IPv6?.ToString() }.Where(s => s is not null));
                table.AddRow(Markup.Escape(subnet), Markup.Escape(publicIP), Markup.Escape(lease.Attrs.BackendType), Markup.Escape(mac), Markup.Escape(ExpiresIn(lease.Expiration, now)));
            }
            else
            {
                table.AddRow(new Markup($"[red]{Markup.Escape(record.Key)}[/]"), new Markup($"[red]unreadable: {Markup.Escape(error)}[/]"),
                    new Text(""), new Text(""), new Text(ExpiresIn(record.Expiration, now)));
            }
        }
        table.Caption($"{listing.Records.Count} lease(s) in {Markup.Escape(description)} at revision {listing.Revision}");
        AnsiConsole.Write(table);
    }

    /// <summary>"23h59m", "4m10s", "expired"; "never" for a record without TTL (the Kubernetes store's: a Node is its own lease).</summary>
    internal static string ExpiresIn(DateTimeOffset expiration, DateTimeOffset now)
    {
        if (expiration == DateTimeOffset.MaxValue)
        {
            return "never";
        }
        TimeSpan left = expiration - now;
        if (left <= TimeSpan.Zero)
        {
            return "expired";
        }
        return left.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)left.TotalHours}h{left.Minutes:00}m")
            : string.Create(CultureInfo.InvariantCulture, $"{(int)left.TotalMinutes}m{left.Seconds:00}s");
    }

    /// <summary>A JSON array, one object per lease; unreadable records carry an "error" instead of parsed fields.</summary>
    internal static string ToJson(LeaseListing listing, DateTimeOffset now)
    {
        using MemoryStream stream = new();
        using (Utf8JsonWriter w = new(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartArray();
            foreach (LeaseRecord record in listing.Records)
            {
                w.WriteStartObject();
                w.WriteString("key", record.Key);
                if (Lease.TryFromRecord(record, out Lease? lease, out string? error))
                {
                    WriteStringOrNull(w, "subnet", lease.Subnets.IPv4?.ToString());
                    WriteStringOrNull(w, "ipv6Subnet", lease.Subnets.IPv6?.ToString());
                    w.WriteString("publicIP", lease.Attrs.PublicIP.ToString());
                    WriteStringOrNull(w, "publicIPv6", lease.Attrs.PublicIPv6?.ToString());
                    w.WriteString("backendType", lease.Attrs.BackendType);
                    if (lease.Attrs.VxlanData is VxlanLeaseData vxlan)
                    {
                        w.WriteNumber("vni", vxlan.Vni);
                        w.WriteString("vtepMAC", vxlan.VtepMacText);
                    }
                    if (lease.Attrs.VxlanV6Data is VxlanLeaseData v6)
                    {
                        w.WriteString("vtepMACv6", v6.VtepMacText);
                    }
                }
                else
                {
                    w.WriteString("error", error);
                }
                if (record.Expiration == DateTimeOffset.MaxValue)
                {
                    // No TTL: null rather than the year 9999, so a script's arithmetic cannot mistake it for a time.
                    w.WriteNull("expiration");
                    w.WriteNull("expiresInSeconds");
                }
                else
                {
                    w.WriteString("expiration", record.Expiration.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
                    w.WriteNumber("expiresInSeconds", Math.Max(0, (long)(record.Expiration - now).TotalSeconds));
                }
                w.WriteNumber("revision", record.Revision);
                w.WriteString("value", record.Value);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void WriteStringOrNull(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }
}

/// <summary>
/// The lease-store flags (<see cref="Twill.Agent.Store.LeaseStoreFlags"/>, the agent's own) as
/// System.CommandLine options, so <c>--help</c> lists them; their values are handed back to the
/// shared model, which applies the one precedence (command line, then <c>TWILL_*</c>, then defaults)
/// and the one contradiction rule. Nothing about the store is decided here.
/// </summary>
internal sealed class LeaseStoreOptionsBinding
{
    private readonly List<(FlagSpec<LeaseStoreOptions> Spec, Option<string?> Option)> _options = [];

    public LeaseStoreOptionsBinding()
    {
        foreach (FlagSpec<LeaseStoreOptions> spec in LeaseStoreFlags.Specs)
        {
            Option<string?> option = new("--" + spec.Name)
            {
                Description = $"{spec.Help} [env: {spec.EnvironmentName}]",
                Arity = spec.IsBool ? ArgumentArity.ZeroOrOne : ArgumentArity.ExactlyOne,
            };
            _options.Add((spec, option));
        }
    }

    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        foreach ((_, Option<string?> option) in _options)
        {
            command.Options.Add(option);
        }
    }

    /// <summary>
    /// Opens the store the flags name (for inspection), lists it and hands both to <paramref name="use"/>;
    /// says on stderr, as <c>twill COMMAND: …</c>, why not when the flags are wrong (<see cref="ExitCodes.Usage"/>)
    /// or the store cannot be listed (<see cref="ExitCodes.Failed"/>).
    /// </summary>
    public async Task<int> WithListingAsync(ParseResult parse, string command, Func<ILeaseStore, LeaseListing, Task<int>> use, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(use);
        ILeaseStore store;
        try
        {
            store = LeaseStoreKinds.Create(Resolve(parse, AgentFlags.ProcessEnvironment()), LeaseStoreUse.Inspect,
                problem => Console.Error.WriteLine($"twill {command}: warning: watch: " + problem),
                skipped => Console.Error.WriteLine($"twill {command}: warning: " + skipped));
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            Console.Error.WriteLine($"twill {command}: {e.Message}");
            return ExitCodes.Usage;
        }
        await using (store.ConfigureAwait(false))
        {
            LeaseListing listing;
            try
            {
                listing = await store.ListAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Console.Error.WriteLine($"twill {command}: cannot list leases in {store.Description}: {e.Message}");
                return ExitCodes.Failed;
            }
            return await use(store, listing).ConfigureAwait(false);
        }
    }

    /// <summary>The store options from what was given and the environment. Throws <see cref="FormatException"/> on bad or contradicting flags.</summary>
    public LeaseStoreOptions Resolve(ParseResult parse, IReadOnlyDictionary<string, string> environment)
    {
        ArgumentNullException.ThrowIfNull(parse);
        List<GivenFlag> given = [];
        foreach ((FlagSpec<LeaseStoreOptions> spec, Option<string?> option) in _options)
        {
            if (parse.GetResult(option) is { Implicit: false })
            {
                given.Add(new GivenFlag(spec.Name, parse.GetValue(option) ?? "true"));
            }
        }
        return LeaseStoreFlags.Resolve(given, environment);
    }
}
