using System.Net.Http.Json;
using Google.Protobuf;
using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests.Rooms;

/// <summary>The room admin endpoints, as a back-end calls them.</summary>
internal static class RoomAdminApi
{
    private static readonly JsonParser Json = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    public static async Task<RoomInfo> CreateAsync(BrokerProcess broker, string roomId, bool isPublic = true, int maxMessagesPerSecond = 0) =>
        Parse(await broker.AdminPostAsync("/api/admin/rooms", new { roomId, title = "test " + roomId, @public = isPublic, maxMessagesPerSecond }));

    public static async Task<RoomInfo> GetAsync(BrokerProcess broker, string roomId)
    {
        using var http = broker.Http();
        var response = await http.GetAsync($"/api/admin/rooms/{roomId}");
        var text = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode ? Json.Parse<RoomInfo>(text) : throw new HttpRequestException($"GET room {roomId} → {(int)response.StatusCode}: {text}");
    }

    public static async Task<RoomInfo> PostAsync(BrokerProcess broker, string path, object body) => Parse(await broker.AdminPostAsync(path, body));

    /// <summary>A back-end send; returns the room seq (0 for chat/like).</summary>
    public static async Task<long> SendAsync(BrokerProcess broker, string roomId, object body)
    {
        var answer = await broker.AdminPostAsync($"/api/admin/rooms/{roomId}/messages", body);
        return answer.GetProperty("seq").GetInt64();
    }

    public static async Task<HttpResponseMessage> RawPostAsync(BrokerProcess broker, string path, object body)
    {
        using var http = broker.Http();
        return await http.PostAsJsonAsync(path, body);
    }

    private static RoomInfo Parse(System.Text.Json.JsonElement element) => Json.Parse<RoomInfo>(element.GetRawText());
}
