using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using MqttIm.Broker.Api;

namespace MqttIm.Broker.Hosting;

/// <summary>
/// The chat demo (<c>/</c>) and the operations console (<c>/console</c>) from <c>wwwroot</c> (built from <c>web/</c>),
/// plus the API routes only they use. Bundles under <c>/assets/</c> carry a content hash in their name, so they are
/// cached for a year; the HTML that names them is revalidated on every load, so a new build is picked up at once.
/// </summary>
internal static class WebPagesExtensions
{
    public static IServiceCollection AddMqttImWebPages(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DemoOptions>().Bind(configuration.GetSection(DemoOptions.SectionName));
        return services;
    }

    public static WebApplication UseMqttImWebPages(this WebApplication app)
    {
        app.UseDefaultFiles();
        app.UseStaticFiles(new StaticFileOptions
        {
            ContentTypeProvider = new FileExtensionContentTypeProvider(),
            OnPrepareResponse = context =>
            {
                var headers = context.Context.Response.Headers;
                headers[HeaderNames.CacheControl] = context.Context.Request.Path.StartsWithSegments("/assets")
                    ? "public, max-age=31536000, immutable"
                    : "no-cache";
                headers.XContentTypeOptions = "nosniff";
            },
        });
        app.MapConsoleEndpoints();
        var demo = app.Services.GetRequiredService<IOptions<DemoOptions>>().Value;
        app.MapDemoEndpoints(demo);
        // What the pages may offer, so they never probe for a 404 (a failed request is a console error in the browser):
        // the demo button, and the admin routes that exist (tabs for rooms, devices, push light up when those APIs are mapped).
        app.MapGet("/api/web-config", (EndpointDataSource routes) => Results.Ok(new
        {
            demo = demo.Enabled,
            adminRoutes = routes.Endpoints.OfType<RouteEndpoint>()
                .Select(e => "/" + (e.RoutePattern.RawText ?? "").Trim('/'))
                .Where(r => r.StartsWith("/api/admin/", StringComparison.Ordinal))
                .Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal),
            // The GET routes among them: what a feature tab (rooms, devices, push) can list without knowing it in advance.
            adminGetRoutes = routes.Endpoints.OfType<RouteEndpoint>()
                .Where(e => e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods.Contains("GET") == true)
                .Select(e => "/" + (e.RoutePattern.RawText ?? "").Trim('/'))
                .Where(r => r.StartsWith("/api/admin/", StringComparison.Ordinal))
                .Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal),
        }));
        return app;
    }
}
