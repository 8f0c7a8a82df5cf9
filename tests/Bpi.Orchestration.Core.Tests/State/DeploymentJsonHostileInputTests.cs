using System.Text;
using Bpi.Orchestration.State;
using Xunit;

namespace Bpi.Orchestration.Tests.State;

/// <summary>A stored record is input from outside too: whatever it holds, reading it ends in a record or an InvalidConfiguration error.</summary>
public sealed class DeploymentJsonHostileInputTests
{
    private const string Record = """
        {"id": "a", "state": "Deploying", "revisions": [{"number": 1, "spec": {"name": "a", "appId": "b",
         "components": [{"id": "w", "image": "x"}], "strategy": {"strategy": "x", "type": "TYPE"}}}],
         "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z", "createdBy": "x"}
        """;

    [Theory]
    [InlineData("Bpi.Orchestration.RecreateStrategySpec, Bpi.Orchestration.Core, Culture=, =,")]
    [InlineData("X, Nope, Version=99.0.0.0")]
    public void A_record_with_a_malformed_or_unknown_strategy_type_name_is_invalid_configuration(string typeName)
    {
        var ex = Assert.Throws<OrchestrationException>(() => DeploymentJson.Deserialize(Encoding.UTF8.GetBytes(Record.Replace("TYPE", typeName, StringComparison.Ordinal))));

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, ex.Kind);
    }

    [Fact]
    public void A_record_with_a_repeated_property_is_refused()
    {
        var ex = Assert.Throws<OrchestrationException>(() => DeploymentJson.Deserialize(Encoding.UTF8.GetBytes(Record.Replace("{\"id\": \"a\",", "{\"id\": \"a\", \"id\": \"b\",", StringComparison.Ordinal))));

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, ex.Kind);
        Assert.Contains("id", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_record_over_the_size_limit_is_refused_before_it_is_parsed()
    {
        var bytes = new byte[DeploymentJson.MaxRecordBytes + 1];

        var ex = Assert.Throws<OrchestrationException>(() => DeploymentJson.Deserialize(bytes));

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, ex.Kind);
        Assert.Contains("more than the limit of 16777216", ex.Message, StringComparison.Ordinal);
    }
}
