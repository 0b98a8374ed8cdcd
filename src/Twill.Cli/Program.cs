using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace Twill.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        RootCommand root = new(
            "Twill: a Flannel-compatible pod network for Kubernetes (node agent, CNI plugins, lab).");

        Command agent = AgentCommand.Create();
        root.Subcommands.Add(agent);
        root.Subcommands.Add(LeasesCommand.Create());
        root.Subcommands.Add(LabCommand.Create());
        root.Subcommands.Add(TorCommand.Create());
        root.Subcommands.Add(Planned("doctor", "Check this node for what the pod network needs (kernel modules, sysctls, subnet.env, leases).", null));
        root.Subcommands.Add(ManifestCommand.Create());

        HelpOption help = root.Options.OfType<HelpOption>().Single();
        help.Action = new AgentFlagsHelpAction((HelpAction)help.Action!, agent);
        return root.Parse(args).Invoke();
    }

    // The agent's flags are Flannel's, parsed outside System.CommandLine, so its help lists them
    // after the usual text; every other command's help is the usual one.
    private sealed class AgentFlagsHelpAction(HelpAction usual, Command agent) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            int code = usual.Invoke(parseResult);
            if (parseResult.CommandResult.Command == agent)
            {
                Console.Out.WriteLine(AgentCommand.FlagsHelp);
                Console.Out.WriteLine();
            }
            return code;
        }
    }

    // A command whose implementation has not landed yet: it is listed so --help shows the whole
    // tool, and running it says plainly that it is not there rather than pretending to work.
    private static Command Planned(string name, string description, int? issue)
    {
        Command command = new(name, description + " (not yet implemented)");
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(_ =>
        {
            string where = issue is int n ? $" (tracked in issue {n})" : "";
            Console.Error.WriteLine($"twill {name}: not yet implemented{where}.");
            return 3;
        });
        return command;
    }
}
