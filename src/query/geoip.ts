/**
 * What the query language needs of the MaxMind-format databases (opened and reloaded in src/enrich/):
 * one flat result per IP address, or null when neither database knows it.
 */

export interface GeoIpResult {
  readonly country_code?: string;
  readonly country?: string;
  readonly continent_code?: string;
  readonly subdivision?: string;
  readonly city?: string;
  readonly postal_code?: string;
  readonly latitude?: number;
  readonly longitude?: number;
  readonly accuracy_radius_km?: number;
  readonly time_zone?: string;
  readonly asn?: number;
  readonly as_org?: string;
}

/** The fields geoip(ip, field) can name, and which database each needs. */
export const GEOIP_FIELDS: Readonly<Record<keyof GeoIpResult, 'city' | 'asn'>> = {
  country_code: 'city',
  country: 'city',
  continent_code: 'city',
  subdivision: 'city',
  city: 'city',
  postal_code: 'city',
  latitude: 'city',
  longitude: 'city',
  accuracy_radius_km: 'city',
  time_zone: 'city',
  asn: 'asn',
  as_org: 'asn',
};

export interface GeoIp {
  readonly hasCity: boolean;
  readonly hasAsn: boolean;
  lookup(ip: string): GeoIpResult | null;
}
