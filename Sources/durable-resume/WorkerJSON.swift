import DurableRunStore
import Foundation

/// A worker as `status` prints it (PostgreSQL stores).
struct WorkerJSON: Encodable {
    var id: String
    var host: String
    var pid: Int32
    var state: String
    var joinedAt: String
    var lastHeartbeatAt: String
    var claimed: Int
    var recorded: Int
    var refused: Int

    init(_ worker: WorkerRecord) {
        let time = { (date: Date) in date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)) }
        id = worker.identity.id
        host = worker.identity.host
        pid = worker.identity.pid
        state = worker.isLive ? "live" : worker.left ? "left" : "expired"
        joinedAt = time(worker.joinedAt)
        lastHeartbeatAt = time(worker.lastHeartbeatAt)
        claimed = worker.claimed
        recorded = worker.recorded
        refused = worker.refused
    }

    /// `live     host-a:4242:9f1c  pid 4242 on host-a  heartbeat 2026-…  claimed 40 · recorded 38 · refused 0`.
    var line: String {
        "\(state.padding(toLength: 8, withPad: " ", startingAt: 0)) \(id)  pid \(pid) on \(host)  last heartbeat \(lastHeartbeatAt)  claimed \(claimed) · recorded \(recorded) · refused \(refused)"
    }

    enum CodingKeys: String, CodingKey {
        case id, host, pid, state, claimed, recorded, refused
        case joinedAt = "joined_at", lastHeartbeatAt = "last_heartbeat_at"
    }
}
