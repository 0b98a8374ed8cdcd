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
        root.Subcommands.Add(Doctor.DoctorCommand.Create());
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
}
