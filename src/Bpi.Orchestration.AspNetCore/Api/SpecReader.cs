using System.Text.Json.Nodes;
using Bpi.Orchestration.Configuration;

namespace Bpi.Orchestration.AspNetCore;

/// <summary>
/// The one place a deployment document in a request body becomes a <see cref="DeploymentSpec"/>: the Configuration
/// package's reader, the same as the CLI's <c>deploy --config</c>, listing every problem with its path.
/// </summary>
internal static class SpecReader
{
    public static DeploymentSpec Read(JsonNode? body, string source)
    {
        if (body is not JsonObject)
        {
            throw new ApiProblemException(StatusCodes.Status400BadRequest, "The request body is invalid.", [$"{source}: a deployment document must be a JSON object."]);
        }

        return DeploymentDocument.Parse(body, source);
    }
}
