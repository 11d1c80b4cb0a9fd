using System.Text.Json;
using MqttIm.ImExtensions.Auth;

namespace MqttIm.Broker.Api;

/// <summary>Marks an endpoint as needing the admin key (set by <see cref="AdminApiKey.MapAdminGroup"/>).</summary>
internal sealed class AdminKeyRequired;

/// <summary>
/// Checks the admin key before anything reads the request body (minimal-API body binding runs before endpoint filters,
/// so without this a malformed body without a key got 400 instead of 401), and turns body binding failures into
/// RFC 7807 problem details instead of a bare 400.
/// </summary>
internal static class AdminApiGuard
{
    public static WebApplication UseAdminApiGuard(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<AdminKeyRequired>() is not null
                && !AdminApiKey.IsPresent(context.Request, context.RequestServices.GetRequiredService<SigningKeys>()))
            {
                await AdminApiKey.Missing().ExecuteAsync(context);
                return;
            }

            try
            {
                await next(context);
            }
            catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
            {
                context.Response.Clear();
                var detail = ex.InnerException is JsonException json ? json.Message : ex.Message;
                await Results.Problem(title: "invalid request", detail: detail, statusCode: ex.StatusCode).ExecuteAsync(context);
            }
        });
        return app;
    }
}
