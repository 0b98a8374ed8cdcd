using System.Globalization;
using Twill.Drills;

// make drills: every drill on a lab cluster, then the table (drill, target, measured, pass).
//   --quick                 the seconds-long subset (what make test runs)
//   --only agent,drift,store   only these groups
//   --store-outage SECONDS  how long etcd stays stopped (default 60)
DrillPlan plan = new();
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--quick":
            plan = DrillPlan.Quick with { Only = plan.Only };
            break;
        case "--only" when i + 1 < args.Length:
            plan = plan with { Only = new HashSet<string>(args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal) };
            break;
        case "--store-outage" when i + 1 < args.Length:
            plan = plan with { StoreOutage = TimeSpan.FromSeconds(double.Parse(args[++i], CultureInfo.InvariantCulture)) };
            break;
        default:
            Console.Error.WriteLine($"twill-drills: unknown argument {args[i]} (--quick, --only agent,drift,store, --store-outage SECONDS)");
            return 2;
    }
}
if (Environment.UserName != "root")
{
    Console.Error.WriteLine("twill-drills: needs root (network namespaces); run `sudo make drills`");
    return 2;
}

List<DrillResult> results = DrillSuite.Run(plan, r =>
{
    Console.WriteLine($"{(r.Pass ? "pass" : "FAIL")}  {r.Drill}: {r.Measured} (target {r.Target})");
    if (!r.Pass && r.Detail.Length > 0)
    {
        Console.WriteLine("      " + r.Detail.Replace("\n", "\n      ", StringComparison.Ordinal));
    }
});
Console.WriteLine();
Console.Write(DrillTable.Format(results));
return results.All(r => r.Pass) ? 0 : 1;
