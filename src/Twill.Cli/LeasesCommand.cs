using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;
using Twill.Leases;
using Twill.Leases.Etcd;
using Twill.Leases.Store;

namespace Twill.Cli;

/// <summary>
/// <c>twill leases list</c>: the subnet leases in the store, as a table or JSON. The store is chosen
/// by the same flags as the agent's (<see cref="LeaseStoreFlags"/>).
/// </summary>
internal static class LeasesCommand
{
    private const int ExitFailed = 1;
    private const int ExitUsage = 2;

    public static Command Create()
    {
        Command leases = new("leases", "List and inspect the subnet leases in the store (file or etcd).");
        leases.Subcommands.Add(List());
        return leases;
    }

    private static Command List()
    {
        LeaseStoreFlags flags = new();
        Option<bool> json = new("--json") { Description = "Print JSON (one array of leases) for scripts." };
        Command list = new("list", "Print every unexpired lease: subnet, public IP, backend, VtepMAC, time to expiry.") { json };
        flags.AddTo(list);
        list.SetAction(async (parse, cancellationToken) =>
        {
            ILeaseStore store;
            try
            {
                store = flags.CreateStore(parse, mustExist: true);
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"twill leases list: {e.Message}");
                return ExitUsage;
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
                    Console.Error.WriteLine($"twill leases list: cannot list leases in {store.Description}: {e.Message}");
                    return ExitFailed;
                }
                DateTimeOffset now = DateTimeOffset.UtcNow;
                if (parse.GetValue(json))
                {
                    Console.Out.Write(ToJson(listing, now));
                }
                else
                {
                    PrintTable(listing, store.Description, now);
                }
                return 0;
            }
        });
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

    /// <summary>"23h59m", "4m10s", "expired".</summary>
    internal static string ExpiresIn(DateTimeOffset expiration, DateTimeOffset now)
    {
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
                w.WriteString("expiration", record.Expiration.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
                w.WriteNumber("expiresInSeconds", Math.Max(0, (long)(record.Expiration - now).TotalSeconds));
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
/// The flags that choose a lease store for the commands that inspect one: <c>--store file|etcd</c>,
/// <c>--store-dir</c>, and Flannel's etcd flags, with the agent's rule (<c>AgentOptions</c>): an
/// explicit <c>--etcd-endpoints</c> means etcd, so one command line serves <c>twill agent</c> and
/// <c>twill leases list</c> alike.
/// </summary>
internal sealed class LeaseStoreFlags
{
    /// <summary>Where the embedded file store lives unless told otherwise.</summary>
    public const string DefaultStoreDirectory = "/var/lib/twill/leases";

    public Option<string> Store { get; } = new("--store")
    {
        Description = "Where leases live: file (the embedded store, a directory) or etcd.",
        DefaultValueFactory = _ => "file",
    };

    public Option<string> StoreDir { get; } = new("--store-dir")
    {
        Description = "The file store's directory (shared by every node on this machine).",
        DefaultValueFactory = _ => DefaultStoreDirectory,
    };

    public Option<string> EtcdEndpoints { get; } = new("--etcd-endpoints")
    {
        Description = "Comma-separated etcd client URLs (implies --store etcd).",
        DefaultValueFactory = _ => "http://127.0.0.1:2379",
    };

    public Option<string> EtcdPrefix { get; } = new("--etcd-prefix")
    {
        Description = "etcd key prefix (Flannel's).",
        DefaultValueFactory = _ => EtcdLeaseStoreOptions.DefaultPrefix,
    };

    public Option<string?> EtcdCaFile { get; } = new("--etcd-cafile") { Description = "PEM CA of the etcd servers." };

    public Option<string?> EtcdCertFile { get; } = new("--etcd-certfile") { Description = "PEM client certificate for etcd." };

    public Option<string?> EtcdKeyFile { get; } = new("--etcd-keyfile") { Description = "PEM key of the client certificate." };

    public Option<string?> EtcdUsername { get; } = new("--etcd-username") { Description = "etcd user name." };

    public Option<string?> EtcdPassword { get; } = new("--etcd-password") { Description = "etcd password." };

    public LeaseStoreFlags() => Store.AcceptOnlyFromAmong("file", "etcd");

    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        foreach (Option option in new Option[] { Store, StoreDir, EtcdEndpoints, EtcdPrefix, EtcdCaFile, EtcdCertFile, EtcdKeyFile, EtcdUsername, EtcdPassword })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>
    /// The store the flags name. Throws <see cref="ArgumentException"/> listing every bad flag. With
    /// <paramref name="mustExist"/> a missing store directory is an error instead of being created
    /// (a listing should not leave an empty store behind).
    /// </summary>
    public ILeaseStore CreateStore(ParseResult parse, bool mustExist = false)
    {
        ArgumentNullException.ThrowIfNull(parse);
        bool endpointsGiven = parse.GetResult(EtcdEndpoints) is { Implicit: false };
        bool storeGiven = parse.GetResult(Store) is { Implicit: false };
        if (endpointsGiven && storeGiven && parse.GetValue(Store) == "file")
        {
            throw new ArgumentException("--store file and --etcd-endpoints contradict each other (--etcd-endpoints means the etcd store)");
        }
        if (parse.GetValue(Store) == "etcd" || endpointsGiven)
        {
            EtcdLeaseStoreOptions options = new()
            {
                Endpoints = [.. parse.GetValue(EtcdEndpoints)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
                Prefix = parse.GetValue(EtcdPrefix)!,
                CaFile = parse.GetValue(EtcdCaFile),
                CertFile = parse.GetValue(EtcdCertFile),
                KeyFile = parse.GetValue(EtcdKeyFile),
                Username = parse.GetValue(EtcdUsername),
                Password = parse.GetValue(EtcdPassword),
            };
            IReadOnlyList<string> errors = options.Validate();
            return errors.Count > 0
                ? throw new ArgumentException(string.Join("; ", errors))
                : new EtcdLeaseStore(options) { WatchProblem = problem => Console.Error.WriteLine("twill leases: warning: watch: " + problem) };
        }
        string directory = parse.GetValue(StoreDir)!;
        if (string.IsNullOrWhiteSpace(directory))
        {
            throw new ArgumentException("--store-dir: empty directory name");
        }
        if (mustExist && !Directory.Exists(directory))
        {
            throw new ArgumentException($"--store-dir {directory}: no such directory (no file store there)");
        }
        return new FileLeaseStore(directory);
    }
}
