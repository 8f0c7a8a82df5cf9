using System.CommandLine;
using Bpi.Orchestration.Configuration;

namespace Bpi.Orchestration.Cli.Commands;

/// <summary><c>schema</c>: prints the JSON Schema of the config file (<see cref="DeploymentDocument.JsonSchema"/>).</summary>
internal static class SchemaCommand
{
    public static IEnumerable<Command> Create(CommandContextFactory factory)
    {
        var command = new Command("schema", $"Print the JSON Schema of the deployment config file (draft 2020-12, {DeploymentDocument.JsonSchemaId}); name it in a config's $schema for completion and checks in your editor.");
        command.SetAction(parse =>
        {
            factory.Environment.Output.Write(DeploymentDocument.JsonSchema);
            return ExitCodes.Success;
        });
        yield return command;
    }
}
